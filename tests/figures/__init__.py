"""Figures: statistics, dashboards, facility reports."""
