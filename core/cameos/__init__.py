"""Cameos: a person's likeness, their consent rules, and the commands and job checks built on them."""
