"""Rendered outputs: the policy review report (HTML/PDF) and the wallet's file upload edge."""
