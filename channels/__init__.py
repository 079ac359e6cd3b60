"""Channel adapters: one module per provider behind :class:`channels.base.Adapter`,
plus the provider sandbox (``channels.sandbox``)."""
