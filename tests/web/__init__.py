"""The API, the command line and the real multi-process server."""
