"""supportdesk: a self-hostable customer-support platform for software vendors."""

__version__ = "0.1.0"
