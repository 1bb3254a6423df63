"""The local web app (``acuvoice serve``): the listening page, its HTTP API and the job runner."""
