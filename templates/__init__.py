"""Jinja2 templates for the HTML report (shipped as package data)."""
