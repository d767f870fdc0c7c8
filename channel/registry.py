"""Channel models by name: ``channel.make("erasure", loss=0.1)``.

Names: ``ideal``, ``rate_limited``, ``erasure``, ``gilbert_elliott``, ``uncoded``,
``coded_phy``, ``analog``, and ``chain`` (``stages``: a list of ``{"name": ..., **params}``
dicts or channel objects). ``gilbert_elliott`` also accepts ``loss_rate`` and
``mean_burst_length`` instead of transition probabilities.
"""

from __future__ import annotations

from typing import Any

from collab_infer.registry import Registry

__all__ = ["CHANNELS", "make"]

CHANNELS: Registry = Registry("channel")
CHANNELS.add("ideal", "channel.ideal:Ideal")
CHANNELS.add("rate_limited", "channel.rate:RateLimited")
CHANNELS.add("erasure", "channel.erasure:PacketErasure")
CHANNELS.add("gilbert_elliott", "channel.erasure:GilbertElliott")
CHANNELS.add("uncoded", "channel.uncoded:Uncoded")
CHANNELS.add("coded_phy", "channel.coded_phy:CodedPhy")
CHANNELS.add("analog", "channel.analog:Analog")
CHANNELS.add("nr", "channel.nr.channel:NR")
CHANNELS.add("chain", "channel.base:Chain")


def make(name: str, **params: Any):
    """Build the channel model registered as ``name`` with ``params``.

    >>> make("erasure", loss=0.25).describe()
    {'name': 'erasure', 'loss': 0.25}
    """
    cls = CHANNELS.get(name)
    if name == "chain":
        stages = params.pop("stages", None)
        if params:
            raise ValueError(f"chain takes only 'stages', got {sorted(params)}")
        if not stages:
            raise ValueError("stages: chain needs a non-empty list of stages")
        built = []
        for i, s in enumerate(stages):
            if isinstance(s, dict):
                s = dict(s)
                if "name" not in s:
                    raise ValueError(f"stages[{i}] needs a 'name' key")
                built.append(make(s.pop("name"), **s))
            else:
                built.append(s)
        return cls(*built)
    if name == "gilbert_elliott" and ("loss_rate" in params or "mean_burst_length" in params):
        extra = set(params) - {"loss_rate", "mean_burst_length"}
        if extra:
            raise ValueError(
                f"gilbert_elliott by loss_rate/mean_burst_length takes no {sorted(extra)}"
            )
        return cls.from_loss_rate(**params)
    return CHANNELS.build(name, **params)
