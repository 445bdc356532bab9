"""Custom widgets: charts, the address map and the virtual events table."""
