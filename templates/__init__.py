"""coachd's built-in email templates, installed as the package `coachd_templates`.

Only the data files matter; this file makes the folder a package so importlib.resources can
find it in an installed coachd (see setup.py and integrations/resources.py).
"""
