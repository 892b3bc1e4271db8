"""The `intake` command: preview, project config through the API, the local stack."""
