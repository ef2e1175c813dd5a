"""Applications shipped in this source tree (see docs/modules.md, "Packaging an application").

Each subpackage is one application: its modules and an ``APPLICATION`` object
that ``pyproject.toml`` publishes in the ``consortia.applications`` entry-point
group, so a genesis can name it.
"""
