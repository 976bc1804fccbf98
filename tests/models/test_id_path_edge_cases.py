"""Edge cases of FDTA's ID-prediction path (spec ``fdta.md`` §2.1, §2.6-2.7, §3.2) that the contract tests in
``test_tracking_head.py`` leave open: label 0's embedding, the bias table's last row and its refusal check,
classifier copies beyond two, the order of the decoder's blocks past layer 1, dropout in train mode."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from discmot.models.fdta.config import preset
from discmot.models.fdta.id_decoder import IDDecoder
from discmot.models.fdta.temporal_adapter import TemporalAdapter, sine_position_encoding
from discmot.models.fdta.trajectory_modeling import TrajectoryModeling

TINY = preset("tiny")
LENGTH = TINY.id_decoder.rel_pe_length  # 8 rows in the relative-bias table


def decoder(layers: int = TINY.id_decoder.layers, seed: int = 0) -> IDDecoder:
    """A float64 ID decoder, eval mode, with a random (non-zero) relative-bias table."""
    torch.manual_seed(seed)
    module = IDDecoder(replace(TINY.id_decoder, layers=layers)).double().eval()
    with torch.no_grad():
        module.rel_pos_embeds.normal_()
    return module


def tokens(frames: int, slots: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    shape = (1, 1, frames, slots, TINY.id_decoder.token_dim)
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def column(times: list[int]) -> torch.Tensor:
    """``[1, 1, T, 1]`` long times of a one-slot history (or one-detection query frames)."""
    return torch.tensor(times).view(1, 1, -1, 1)


def test_label_0_embeds_as_column_0_of_word_to_embed():
    """§2.1: labels are 0…K-1 and ``E_id(ℓ)`` is column ℓ; only negative labels (padding) give zeros."""
    module = decoder()
    embeddings = module.id_embeddings(torch.tensor([0, 1, -1]))
    weight = module.word_to_embed.weight
    assert torch.equal(embeddings[0], weight[:, 0]) and torch.equal(embeddings[1], weight[:, 1])
    assert weight[:, 0].any() and not embeddings[2].any()


def test_one_differing_classifier_copy_among_three_is_refused():
    """§2.1: the ``embed_to_word_layers.*`` copies are one tensor; a file where any one of them differs is
    refused, not only when all of them differ from the first."""
    state = {key: value.clone() for key, value in decoder(layers=3).state_dict().items()}
    state["embed_to_word_layers.1.weight"] += 1.0  # copies 0 and 2 still agree
    with pytest.raises(RuntimeError, match="shared tensor"):
        decoder(layers=3, seed=1).load_state_dict(state)


def test_train_mode_gives_the_eval_mode_logits():
    """§2.7: all attention dropout is 0 (and the FFNs have none), so training mode changes nothing."""
    module = decoder()
    keys, times = tokens(3, 1, seed=0), column([0, 1, 2])
    masks = torch.zeros(1, 1, 3, 1, dtype=torch.bool)
    queries = tokens(2, 1, seed=1)
    query_times, query_masks = column([2, 3]), torch.zeros(1, 1, 2, 1, dtype=torch.bool)
    evaluated = module(keys, times, masks, queries, query_times, query_masks)
    trained = module.train()(keys, times, masks, queries, query_times, query_masks)
    assert torch.equal(trained, evaluated)


def test_one_visible_key_beyond_the_bias_table_is_refused_even_if_another_fits():
    """A query at time 8 with visible keys at times 0 (gap 8 = rel_pe_length: no bias row) and 5 (gap 3)
    is refused: one pair out of the table is enough."""
    module = decoder()
    masks = torch.zeros(1, 1, 2, 1, dtype=torch.bool)
    query, no_padding = tokens(1, 1, seed=1), torch.zeros(1, 1, 1, 1, dtype=torch.bool)
    with pytest.raises(ValueError, match="rel_pe_length"):
        module(tokens(2, 1, seed=0), column([0, 5]), masks, query, column([LENGTH]), no_padding)


def test_a_missing_key_beyond_the_bias_table_is_ignored_like_any_missing_key():
    """§2.7 key padding: a missing history token is -inf whatever its time, so one 12 frames back (past the
    8-row table) is neither an error nor different from a missing token 1 frame back."""
    module = decoder()
    keys, masks = tokens(2, 1, seed=0), torch.tensor([True, False]).view(1, 1, 2, 1)
    query, no_padding = tokens(1, 1, seed=1), torch.zeros(1, 1, 1, 1, dtype=torch.bool)
    far = module(keys, column([0, 10]), masks, query, column([12]), no_padding)
    near = module(keys, column([11, 10]), masks, query, column([12]), no_padding)
    assert torch.isfinite(far).all() and torch.equal(far, near)


def test_a_key_rel_pe_length_minus_1_frames_back_gets_the_last_bias_row():
    """§2.7: the bias of a key ``t_query - t_key`` frames back is ``rel_pos_embeds[l, t_query - t_key, h]``;
    at the largest allowed gap (7 of an 8-row table) that is row 7, not row 6."""
    module = decoder(layers=1)
    keys, masks = tokens(1, 1, seed=0), torch.zeros(1, 1, 1, 1, dtype=torch.bool)
    query, no_padding = tokens(1, 1, seed=1), torch.zeros(1, 1, 1, 1, dtype=torch.bool)

    def logits():
        return module(keys, column([0]), masks, query, column([LENGTH - 1]), no_padding)

    base = logits()
    with torch.no_grad():
        module.rel_pos_embeds[0, LENGTH - 2] += 3.0
    assert torch.equal(logits(), base)
    with torch.no_grad():
        module.rel_pos_embeds[0, LENGTH - 1] += 3.0
    assert not torch.allclose(logits(), base)


def test_decoder_layers_run_cross_attention_ffn_then_the_previous_self_attention_block():
    """§2.7 layer l: (l ≥ 1) ``SelfAttn_{l-1}``, then ``CrossAttn_l``, then ``FFN_l`` — checked on 3 layers,
    where layer 2 must use self-attention block 1 (the tiny preset's 2 layers have only block 0)."""
    module = decoder(layers=3)
    calls: list[tuple[str, int]] = []
    for kind in ("self", "cross", "ffn"):
        blocks = module.ffn_layers if kind == "ffn" else getattr(module, f"{kind}_attn_layers")
        for index, block in enumerate(blocks):
            block.register_forward_hook(lambda *_, key=(kind, index): calls.append(key))
    masks = torch.zeros(1, 1, 2, 2, dtype=torch.bool)
    times = torch.arange(2).view(1, 1, 2, 1).expand(1, 1, 2, 2)
    query_times = torch.full((1, 1, 1, 2), 2)
    module(tokens(2, 2, seed=0), times, masks, tokens(1, 2, seed=1), query_times, masks[:, :, :1])
    assert calls == [
        ("cross", 0), ("ffn", 0),
        ("self", 0), ("cross", 1), ("ffn", 1),
        ("self", 1), ("cross", 2), ("ffn", 2),
    ]  # fmt: skip


def test_sine_position_encoding_refuses_an_odd_width():
    """§3.2: channels come in (sin, cos) pairs ``2k, 2k+1``; an odd width has no pairing and is refused."""
    with pytest.raises(ValueError, match="even width"):
        sine_position_encoding(3, 7)


@pytest.mark.parametrize("shape", [(1, 2, 3, 0), (1, 1, 0, 2)], ids=["no-slots", "no-frames"])
def test_temporal_adapter_passes_an_empty_history_through(shape):
    """A clip or tracker state without any history token (no identity slot, or no frame yet) is returned
    as it is, an empty ``[B, G, T, N, D]`` tensor, instead of failing in the attention reshape."""
    adapter = TemporalAdapter(TINY.temporal, TINY.id_decoder.feature_dim).eval()
    features = torch.zeros(*shape, TINY.id_decoder.feature_dim)
    out = adapter(features, torch.zeros(shape, dtype=torch.bool))
    assert out.shape == features.shape


def check_xavier_uniform(name: str, weight: torch.Tensor) -> None:
    """``U(-a, a)`` with ``a = sqrt(6 / (fan_in + fan_out))``: nothing beyond ``a`` and, over hundreds of
    draws, something beyond ``0.9 a`` (PyTorch's default Linear init stays within ``1/sqrt(fan_in)``, which
    is below ``0.9 a`` for every matrix here)."""
    fan_out, fan_in = weight.shape
    bound = (6 / (fan_in + fan_out)) ** 0.5
    largest = float(weight.abs().max())
    assert 0.9 * bound < largest <= bound, (name, largest, bound)


def test_ffn_adapter_and_id_decoder_matrices_start_xavier_uniform_and_the_bias_table_at_zero():
    """§2.6: xavier-uniform for every matrix of the FFN adapter; §2.7: ``rel_pos_embeds`` init zeros, all
    other ID-decoder matrices xavier-uniform (the out-projections and FFNs included)."""
    torch.manual_seed(0)
    ffn = TrajectoryModeling(TINY.id_decoder.feature_dim, TINY.id_decoder.ffn_dim_ratio)
    module = IDDecoder(TINY.id_decoder)
    matrices = [(f"ffn.{n}", p) for n, p in ffn.named_parameters() if p.dim() == 2]
    matrices += [(n, p) for n, p in module.named_parameters() if p.dim() == 2]
    # FFN adapter 4; word_to_embed + the one embed_to_word; 2 layers x (cross in/out + FFN 2); 1 self in/out
    assert len(matrices) == 4 + 2 + 2 * 4 + 2
    for name, weight in matrices:
        check_xavier_uniform(name, weight.detach())
    assert not module.rel_pos_embeds.any()
