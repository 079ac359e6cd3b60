"""A compliant omnichannel collections contact orchestrator."""

__version__ = "0.1.0"
