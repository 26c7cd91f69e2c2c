"""Build the configured KPI sources' readers (nothing is read or contacted here)."""

from __future__ import annotations

from integrations.config_file import LoadedConfig
from integrations.kpi.read import Configured, Reader, WeeklyReader, configured
from integrations.kpi_csv import CsvKpiSource
from planner.kpi_derive import input_ids
from planner.kpi_sources import AnySource, HubSpotSource, SalesforceSource, SheetsSource


def open_sources(loaded: LoadedConfig) -> list[Configured]:
    """Every `kpi_source` entry, in precedence order, with a lazily opened reader."""
    p = loaded.policy
    reps = {r.email for r in p.team}
    kpis = {k.id for k in p.kpis} | input_ids(p)

    def opener(src: AnySource, name: str) -> Reader | WeeklyReader:
        if isinstance(src, SheetsSource):
            from integrations.kpi.sheets import open_sheets_source

            return open_sheets_source(
                p.calendar.google,
                base_dir=loaded.base_dir,
                subject=p.manager.email,
                spreadsheet_id=src.spreadsheet_id,
                range_=src.range,
                form=src.form,
                reps=reps,
                kpis=kpis,
            )
        if isinstance(src, SalesforceSource):
            from integrations.kpi.salesforce import SalesforceKpiSource

            return SalesforceKpiSource(
                src, name, base_dir=loaded.base_dir, reps=[r.email for r in p.team]
            )
        if isinstance(src, HubSpotSource):
            from integrations.kpi.hubspot import HubSpotKpiSource

            return HubSpotKpiSource(src, name, reps=[r.email for r in p.team])
        return CsvKpiSource(loaded.resolve(src.path), reps=reps, kpis=kpis)

    return configured(p.kpi_source, opener, p.manager.tz)
