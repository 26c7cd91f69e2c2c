"""Org mode: every sales manager of a company in one deployment.

`org.yaml` holds the org-wide defaults and the deployment's settings; `managers/<email>.yaml`
holds one manager's overlay. Each manager's effective config is defaults ⊕ overlay
(integrations.org.merge) and runs through the same tick as a single-manager coachd.
"""
