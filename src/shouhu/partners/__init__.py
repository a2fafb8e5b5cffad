"""Partners and embedded insurance (issue 18): the partner registry and API keys (``registry``), the
products partners may sell in their scenes and how they are priced (``products``, ``scene``), quote →
bind → change → claim with licence enforcement (``sales``), idempotency keys (``idempotency``), hosted
sales pages for unlicensed partners (``hosted``), signed webhooks (``webhooks``), the ecosystem service
catalogue (``ecosystem``) and the sandbox conformance report (``conformance``). User guide: docs/partners.md."""
