"""The web layer: REST API (/api/v1), staff console (/console) and customer H5 pages (/h5).

One FastAPI application (app.create_app), served by ``shouhu serve``. Access decisions come from
shouhu.access.policy; customer rows come from shouhu.storage.customers, always through a row rule.
"""
