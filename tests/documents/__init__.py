"""Issued documents: extracts, letters, rendering, signing, verification."""
