"""Configuration: what ops edit, validated where it is read, versioned and hot-reloaded.

- :mod:`~orchestrator.configuration.source`: the configuration in force (files, then each
  tenant's stored versions), reloaded when either changes (:class:`ConfigSource`);
- :mod:`~orchestrator.configuration.files`: reading ``config/`` and ``templates/`` as a whole;
- :mod:`~orchestrator.configuration.versions`: stored, audited versions;
- :mod:`~orchestrator.configuration.channel_config`: the model of ``channels.yaml`` (providers,
  rate limits, breakers, retry, dispatch policy) — configuration, not the live adapters;
- :mod:`~orchestrator.configuration.strategies`: the model of ``strategies/*.yaml``;
- :mod:`~orchestrator.configuration.rulepacks`: loading ``compliance/*.yaml`` into rule packs;
- :mod:`~orchestrator.configuration.credentials`: provider secrets named by the config.
"""
