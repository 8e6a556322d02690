"""One router per resource; each route checks access, calls the library and shapes the answer."""
