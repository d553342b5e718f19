"""Shared pieces of the HTML reports: the page, inline plots, the machine description."""
