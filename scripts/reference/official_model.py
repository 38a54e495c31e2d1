"""Builds the official PyTorch HRNet from a config that `hrnetc check` resolved.

Used only to produce reference data for hrnetc's tests; it needs a local copy of the official repository
(never committed here): set HRNET_OFFICIAL to its root, e.g. /tmp/official. Run with Debian's
/usr/bin/python3 (python3-torch, python3-yaml).
"""
import os
import subprocess
import sys

import yaml


class AttrDict(dict):
    """The part of yacs's CfgNode the official model code uses: attribute and item access."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e


def to_attr(value):
    if isinstance(value, dict):
        return AttrDict({k: to_attr(v) for k, v in value.items()})
    if isinstance(value, list):
        return [to_attr(v) for v in value]
    return value


def resolved_config(experiment, overrides=()):
    root = os.path.join(os.path.dirname(__file__), '..', '..')
    text = subprocess.run(
        ['node', os.path.join(root, 'bin', 'hrnetc.js'), 'check', experiment, *overrides],
        check=True, capture_output=True, text=True, cwd=root,
    ).stdout
    return to_attr(yaml.safe_load(text))


def official_module(name):
    official = os.environ.get('HRNET_OFFICIAL')
    if not official:
        sys.exit('set HRNET_OFFICIAL to a local copy of HRNet/HRNet-Human-Pose-Estimation')
    sys.path.insert(0, os.path.join(official, 'lib'))
    import importlib
    return importlib.import_module(f'models.{name}')


def build(experiment, overrides=(), is_train=False):
    cfg = resolved_config(experiment, overrides)
    module = official_module(cfg.MODEL.NAME)
    return cfg, module.get_pose_net(cfg, is_train=is_train)
