"""mamori (守り): protects crypto-asset exchanges from the attacks that have emptied them."""

__version__ = "0.1.0"
