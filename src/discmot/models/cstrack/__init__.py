"""CSTrack (Liang et al., IEEE TIP 2022): a one-shot tracker, YOLOv5 + REN + SAAN (spec ``cstrack.md``).

* `config`: `CSTrackConfig` and the presets ``cstrack`` (official), ``cstrack_s`` (ours), ``tiny`` (no torch);
* `model`: `CSTrack` (layers ``model.0``-``model.28``), `build_cstrack`;
* `ren`: `ReciprocalNetwork` (paper: REN, code: ``CCN``); `saan`: `ScaleAwareAttention` (paper: SAAN);
  `head`: `DetectionHead` (code: ``Detect``);
* `checkpoint`: `load_cstrack`, `save_cstrack`, `convert` (official state dicts, the old trainer's pickled
  fp16 model, discmot safetensors).

Nothing is imported here, so ``discmot.models.cstrack.config`` stays importable without torch.
"""
