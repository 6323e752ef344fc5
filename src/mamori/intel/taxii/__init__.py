"""TAXII 2.1 (OASIS, 2021) for the industry hub: the request filters and paging cursors (``query``); the server and
its storage build on them."""
