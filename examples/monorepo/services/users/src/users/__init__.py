"""Users: names and their normal form."""
