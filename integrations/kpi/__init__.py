"""KPI sources: CSV files and Google Sheets, read, cached, merged and timestamped."""
