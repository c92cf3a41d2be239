"""Settings for the intake benchmark's server: the production settings plus one bench-only URL (bare_urls).

The production URLs stay clean: /bench/bare-case exists only when this module is the settings module.
"""

from fengchao.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
