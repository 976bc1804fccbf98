"""Deformable DETR's encoder-decoder with FDTA's depth cross-attention (spec ``fdta.md`` §1.4-1.6, §3.1.6).

* Encoder: post-norm layers of multi-scale deformable self-attention over the tokens of all levels, then
  an FFN.
* Decoder: post-norm layers of query self-attention -> deformable cross-attention into the encoder memory
  -> **depth cross-attention** into the Spatial Adapter's depth memory (FDTA; absent in the ablation
  without Spatial Adapter) -> FFN, with iterative box refinement by the DETR's per-layer box heads.

Module and parameter names are the official checkpoint's (``level_embed``, ``reference_points``,
``encoder.layers.i.*``, ``decoder.layers.i.*``, ``decoder.bbox_embed``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from discmot.models.detr.deformable_attention import MSDeformAttn
from discmot.models.fdta.config import DETRConfig
from discmot.ops.deform_attn import LevelShapes


def inverse_sigmoid(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``logit(x)`` with ``x`` clamped to ``[0, 1]`` and both ``x`` and ``1 - x`` kept above ``eps``."""
    x = x.clamp(min=0, max=1)
    return torch.log(x.clamp(min=eps) / (1 - x).clamp(min=eps))


def refine_boxes(deltas: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Box-refinement step: ``deltas [..., 4]`` applied in logit space to a reference ``[..., 2 or 4]``.

    A 4-d reference box moves by all four deltas; a 2-d reference point only shifts the centre, the
    width and height come from the deltas alone. Returns normalised boxes ``[..., 4]`` (cx, cy, w, h).
    """
    if reference.shape[-1] == 4:
        return (deltas + inverse_sigmoid(reference)).sigmoid()
    centres = deltas[..., :2] + inverse_sigmoid(reference)
    return torch.cat([centres, deltas[..., 2:]], -1).sigmoid()


def sequence_first(x: torch.Tensor) -> torch.Tensor:
    """``[B, N, D]`` -> contiguous ``[N, B, D]`` for ``nn.MultiheadAttention``.

    Contiguous on purpose: for strided inputs aten's matmul picks its folding strategy from the layout and
    from the weights' autograd state, so a model built under ``inference_mode`` would differ from the same
    weights built normally (~1e-7); contiguous inputs make the result depend on the values only.
    """
    return x.transpose(0, 1).contiguous()


def valid_ratios(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``mask [B, H, W]`` (True = padding) -> ``[B, 2]`` valid ``(width, height)`` fractions.

    Counted along the first row / column, as the official code does (padding is bottom/right).
    """
    _, height, width = mask.shape
    valid_height = (~mask[:, :, 0]).sum(1).to(dtype)
    valid_width = (~mask[:, 0, :]).sum(1).to(dtype)
    return torch.stack([valid_width / width, valid_height / height], -1)


def encoder_reference_points(
    spatial_shapes: torch.Tensor, ratios: torch.Tensor, level_shapes: LevelShapes | None = None
) -> torch.Tensor:
    """Pixel-centre reference points of every encoder token for every sampled level.

    Args:
        spatial_shapes: ``[L, 2]`` ``(H_l, W_l)``.
        ratios: ``[B, L, 2]`` valid ratios (`valid_ratios` per level).
        level_shapes: the same shapes as Python ints when known (else read back: a device sync).

    Returns:
        ``[B, S, L, 2]``: token ``(i, j)`` of level l is at ``((j + 0.5) / (vr_x^l W_l), (i + 0.5) /
        (vr_y^l H_l))`` (normalised by the valid region of its own level), then scaled by the valid
        ratios of each sampled level.
    """
    points = []
    shapes = spatial_shapes.tolist() if level_shapes is None else level_shapes
    for level, (height, width) in enumerate(shapes):
        rows = torch.arange(height, dtype=ratios.dtype, device=ratios.device) + 0.5
        columns = torch.arange(width, dtype=ratios.dtype, device=ratios.device) + 0.5
        ref_y, ref_x = torch.meshgrid(rows, columns, indexing="ij")
        ref_y = ref_y.reshape(-1)[None] / (ratios[:, None, level, 1] * height)
        ref_x = ref_x.reshape(-1)[None] / (ratios[:, None, level, 0] * width)
        points.append(torch.stack((ref_x, ref_y), -1))
    return torch.cat(points, 1)[:, :, None] * ratios[:, None]


class DeformableEncoderLayer(nn.Module):
    """Post-norm: ``src = norm1(src + MSDeformAttn(src + pos))``; ``src = norm2(src + FFN(src))``."""

    def __init__(self, config: DETRConfig):
        super().__init__()
        d_model = config.hidden_dim
        self.self_attn = MSDeformAttn(d_model, config.num_feature_levels, config.num_heads, config.enc_points)
        self.dropout_attn = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, config.ffn_dim)
        self.dropout_ffn = nn.Dropout(config.dropout)
        self.linear2 = nn.Linear(config.ffn_dim, d_model)
        self.dropout_ffn_out = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        reference_points: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        padding_mask: torch.Tensor | None,
        level_shapes: LevelShapes | None = None,
    ) -> torch.Tensor:
        """One layer: ``src``, ``pos`` ``[B, S, D]`` -> ``[B, S, D]``.

        ``pos`` is added to the queries only; ``reference_points [B, S, L, 2]``, ``padding_mask [B, S]``;
        ``level_shapes``: ``spatial_shapes`` as Python ints, when known.
        """
        attended = self.self_attn(
            src + pos, reference_points, src, spatial_shapes, level_start_index, padding_mask, level_shapes
        )
        src = self.norm1(src + self.dropout_attn(attended))
        return self.norm2(src + self.feed_forward(src))

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """``linear2(relu(linear1(x)))`` with dropouts (the residual and norm are the caller's)."""
        return self.dropout_ffn_out(self.linear2(self.dropout_ffn(F.relu(self.linear1(x)))))


class DeformableEncoder(nn.Module):
    """A stack of `DeformableEncoderLayer` (``layers.i``)."""

    def __init__(self, config: DETRConfig):
        super().__init__()
        self.layers = nn.ModuleList(DeformableEncoderLayer(config) for _ in range(config.enc_layers))

    def forward(
        self,
        src: torch.Tensor,
        pos: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        ratios: torch.Tensor,
        padding_mask: torch.Tensor | None,
        level_shapes: LevelShapes | None = None,
    ) -> torch.Tensor:
        """All layers: ``src``, ``pos`` ``[B, S, D]`` -> memory ``[B, S, D]``.

        ``ratios [B, L, 2]`` valid ratios per level, ``padding_mask [B, S]``; ``level_shapes``:
        ``spatial_shapes`` as Python ints, when known.
        """
        reference_points = encoder_reference_points(spatial_shapes, ratios, level_shapes)
        for layer in self.layers:
            src = layer(
                src, pos, reference_points, spatial_shapes, level_start_index, padding_mask, level_shapes
            )
        return src


class DeformableDecoderLayer(nn.Module):
    """Self-attn -> deformable cross-attn -> depth cross-attn (FDTA) -> FFN, each post-norm.

    ``cross_attn_depth`` / ``norm_depth`` exist only with ``depth_cross_attention`` (the Spatial
    Adapter); without them the step is skipped.
    """

    def __init__(self, config: DETRConfig, depth_cross_attention: bool = True):
        super().__init__()
        d_model, heads = config.hidden_dim, config.num_heads
        # Registration order = the official state-dict order.
        self.cross_attn = MSDeformAttn(d_model, config.num_feature_levels, heads, config.dec_points)
        self.dropout_cross = nn.Dropout(config.dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.cross_attn_depth: nn.MultiheadAttention | None = None
        self.norm_depth: nn.LayerNorm | None = None
        if depth_cross_attention:
            self.cross_attn_depth = nn.MultiheadAttention(d_model, heads, dropout=config.dropout)
            self.dropout_depth = nn.Dropout(config.dropout)
            self.norm_depth = nn.LayerNorm(d_model)
        self.self_attn = nn.MultiheadAttention(d_model, heads, dropout=config.dropout)
        self.dropout_self = nn.Dropout(config.dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.linear1 = nn.Linear(d_model, config.ffn_dim)
        self.dropout_ffn = nn.Dropout(config.dropout)
        self.linear2 = nn.Linear(config.ffn_dim, d_model)
        self.dropout_ffn_out = nn.Dropout(config.dropout)
        self.norm3 = nn.LayerNorm(d_model)

    def self_attention(self, tgt: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        """Among the queries: ``q = k = tgt + query_pos``, ``v = tgt`` (``[B, Q, D]``)."""
        q = k = sequence_first(tgt + query_pos)
        attended = self.self_attn(q, k, sequence_first(tgt), need_weights=False)[0].transpose(0, 1)
        return self.norm2(tgt + self.dropout_self(attended))

    def depth_attention(
        self, tgt: torch.Tensor, depth_memory: torch.Tensor, depth_padding_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """Into the depth memory ``[H8*W8, B, D]``; the query is ``tgt`` alone (no position, as official)."""
        # called only for a layer built with depth_cross_attention
        assert self.cross_attn_depth is not None and self.norm_depth is not None
        attended = self.cross_attn_depth(
            sequence_first(tgt),
            depth_memory,
            depth_memory,
            key_padding_mask=depth_padding_mask,
            need_weights=False,
        )[0].transpose(0, 1)
        return self.norm_depth(tgt + self.dropout_depth(attended))

    def forward(
        self,
        tgt: torch.Tensor,
        query_pos: torch.Tensor,
        reference_points: torch.Tensor,
        memory: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        memory_padding_mask: torch.Tensor | None,
        depth_memory: torch.Tensor | None = None,
        depth_padding_mask: torch.Tensor | None = None,
        level_shapes: LevelShapes | None = None,
    ) -> torch.Tensor:
        """One decoder layer.

        Args:
            tgt, query_pos: ``[B, Q, D]`` query content and position.
            reference_points: ``[B, Q, L, 2 or 4]`` scaled by each level's valid ratio.
            memory: ``[B, S, D]`` encoder output; ``memory_padding_mask``: ``[B, S]``.
            depth_memory: ``[H8*W8, B, D]`` (required iff the layer has ``cross_attn_depth``).
            depth_padding_mask: ``[B, H8*W8]`` bool, True = padding.
            level_shapes: ``spatial_shapes`` as Python ints, when known (no device sync to read them).

        Returns:
            ``[B, Q, D]``.
        """
        tgt = self.self_attention(tgt, query_pos)
        attended = self.cross_attn(
            tgt + query_pos,
            reference_points,
            memory,
            spatial_shapes,
            level_start_index,
            memory_padding_mask,
            level_shapes,
        )
        tgt = self.norm1(tgt + self.dropout_cross(attended))
        if self.cross_attn_depth is not None:
            assert depth_memory is not None  # the transformer checks it is given with depth cross-attention
            tgt = self.depth_attention(tgt, depth_memory, depth_padding_mask)
        return self.norm3(tgt + self.feed_forward(tgt))

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder layer's FFN (`DeformableEncoderLayer.feed_forward`) on this layer's modules."""
        return self.dropout_ffn_out(self.linear2(self.dropout_ffn(F.relu(self.linear1(x)))))


class DeformableDecoder(nn.Module):
    """A stack of `DeformableDecoderLayer` with iterative box refinement.

    ``bbox_embed`` is the DETR's ModuleList of per-layer box heads, attached by the DETR after
    construction (the same modules: its parameters appear under both names in the state dict).
    """

    def __init__(self, config: DETRConfig, depth_cross_attention: bool = True):
        super().__init__()
        self.layers = nn.ModuleList(
            DeformableDecoderLayer(config, depth_cross_attention) for _ in range(config.dec_layers)
        )
        self.bbox_embed: nn.ModuleList | None = None

    def forward(
        self,
        tgt: torch.Tensor,
        reference_points: torch.Tensor,
        memory: torch.Tensor,
        spatial_shapes: torch.Tensor,
        level_start_index: torch.Tensor,
        ratios: torch.Tensor,
        query_pos: torch.Tensor,
        memory_padding_mask: torch.Tensor | None,
        depth_memory: torch.Tensor | None = None,
        depth_padding_mask: torch.Tensor | None = None,
        level_shapes: LevelShapes | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Runs all layers, refining the reference boxes after each.

        Args:
            tgt, query_pos: ``[B, Q, D]``; reference_points: ``[B, Q, 2]`` initial reference points.
            ratios: ``[B, L, 2]`` valid ratios; the other arguments as in `DeformableDecoderLayer`.

        Returns:
            ``hs [N_layers, B, Q, D]`` the output of every layer and ``references [N_layers, B, Q, 4]``,
            the (detached) refined reference boxes after every layer.
        """
        outputs, references = [], []
        for index, layer in enumerate(self.layers):
            scale = ratios if reference_points.shape[-1] == 2 else torch.cat([ratios, ratios], -1)
            tgt = layer(
                tgt,
                query_pos,
                reference_points[:, :, None] * scale[:, None],
                memory,
                spatial_shapes,
                level_start_index,
                memory_padding_mask,
                depth_memory,
                depth_padding_mask,
                level_shapes,
            )
            if self.bbox_embed is not None:
                # The next layer samples around the refined boxes but sends no gradient through them.
                reference_points = refine_boxes(self.bbox_embed[index](tgt), reference_points).detach()
            outputs.append(tgt)
            references.append(reference_points)
        return torch.stack(outputs), torch.stack(references)


@functools.cache
def level_shape_tensor(shapes: tuple[tuple[int, int], ...], device: torch.device) -> torch.Tensor:
    """``[L, 2]`` int64 ``(H_l, W_l)`` on ``device``, made once per shapes and device: a CUDA graph of the
    detection network (`discmot.ops.cuda_graph`) cannot record the host-to-device copy that makes it,
    and its warm-up pass leaves it here. Kept for the process's life (a few bytes per input size): a
    recorded graph reads its memory, which must never be freed under it. Shared by every caller: never
    modified in place. Made outside inference mode, so that a training step may use it after tracking
    did."""
    with torch.inference_mode(False):
        return torch.as_tensor(shapes, dtype=torch.long, device=device)


class FlatLevels(NamedTuple):
    """The feature levels flattened into one token sequence for the encoder."""

    src: torch.Tensor  # [B, S, D]
    pos: torch.Tensor  # [B, S, D] sine PE + level embedding
    padding_mask: torch.Tensor  # [B, S] bool
    spatial_shapes: torch.Tensor  # [L, 2] long (H_l, W_l)
    level_start_index: torch.Tensor  # [L] long
    ratios: torch.Tensor  # [B, L, 2] valid (width, height) ratios
    # (H_l, W_l) as Python ints: the level loops need them, and reading `spatial_shapes` back is a sync.
    level_shapes: tuple[tuple[int, int], ...]


class DeformableTransformer(nn.Module):
    """Encoder + decoder of Deformable DETR (single-stage, box refinement by the DETR's heads).

    ``depth_cross_attention=False`` builds the decoder without FDTA's depth cross-attention (the ablation
    without Spatial Adapter; the state dict then matches MOTIP's).
    """

    def __init__(self, config: DETRConfig, depth_cross_attention: bool = True):
        super().__init__()
        self.d_model = config.hidden_dim
        self.encoder = DeformableEncoder(config)
        self.decoder = DeformableDecoder(config, depth_cross_attention)
        self.level_embed = nn.Parameter(torch.empty(config.num_feature_levels, config.hidden_dim))
        self.reference_points = nn.Linear(config.hidden_dim, 2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The official order: xavier on every matrix, then MSDeformAttn's own init, then the rest."""
        for parameter in self.parameters():
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)
        for module in self.modules():
            if isinstance(module, MSDeformAttn):
                module.reset_parameters()
        nn.init.xavier_uniform_(self.reference_points.weight, gain=1.0)
        nn.init.constant_(self.reference_points.bias, 0.0)
        nn.init.normal_(self.level_embed)

    @property
    def has_depth_cross_attention(self) -> bool:
        return self.decoder.layers[0].cross_attn_depth is not None

    def flatten_levels(
        self, srcs: list[torch.Tensor], masks: list[torch.Tensor], pos_embeds: list[torch.Tensor]
    ) -> FlatLevels:
        """Concatenates the levels ``[B, D, H_l, W_l]`` row-major into ``[B, S, D]`` tokens (level order)."""
        shapes = tuple((int(src.shape[-2]), int(src.shape[-1])) for src in srcs)
        src = torch.cat([s.flatten(2).transpose(1, 2) for s in srcs], 1)
        pos = torch.cat(
            [p.flatten(2).transpose(1, 2) + self.level_embed[level] for level, p in enumerate(pos_embeds)], 1
        )
        padding_mask = torch.cat([m.flatten(1) for m in masks], 1)
        spatial_shapes = level_shape_tensor(shapes, src.device)
        level_start_index = torch.cat((spatial_shapes.new_zeros(1), spatial_shapes.prod(1).cumsum(0)[:-1]))
        # Ratios (hence all reference points) stay at least fp32 under fp16/bf16, as in the official code.
        ratio_dtype = torch.promote_types(src.dtype, torch.float32)
        ratios = torch.stack([valid_ratios(m, ratio_dtype) for m in masks], 1)
        return FlatLevels(src, pos, padding_mask, spatial_shapes, level_start_index, ratios, shapes)

    def forward(
        self,
        srcs: list[torch.Tensor],
        masks: list[torch.Tensor],
        pos_embeds: list[torch.Tensor],
        query_embed: torch.Tensor,
        depth_memory: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encodes the levels and decodes the queries.

        Args:
            srcs: L projected levels ``[B, D, H_l, W_l]``; masks: ``[B, H_l, W_l]`` bool (True = padding);
                pos_embeds: sine PEs ``[B, D, H_l, W_l]`` (without level embedding).
            query_embed: ``[Q, 2 D]``: query position, then initial content.
            depth_memory: ``[H_0*W_0, B, D]`` the Spatial Adapter's depth memory on level 0's grid
                (required iff the decoder has depth cross-attention); its padding mask is level 0's.

        Returns:
            ``hs [N_layers, B, Q, D]``, ``init_reference [B, Q, 2]`` (points, with gradient) and
            ``references [N_layers, B, Q, 4]`` (detached boxes after each layer).
        """
        if (depth_memory is not None) != self.has_depth_cross_attention:
            raise ValueError("depth_memory must be given exactly when the decoder has depth cross-attention")
        levels = self.flatten_levels(srcs, masks, pos_embeds)
        memory = self.encoder(
            levels.src,
            levels.pos,
            levels.spatial_shapes,
            levels.level_start_index,
            levels.ratios,
            levels.padding_mask,
            levels.level_shapes,
        )
        batch = memory.shape[0]
        query_pos, tgt = torch.split(query_embed, self.d_model, dim=1)
        # Same for every frame: computed once, then broadcast over the batch.
        init_reference = self.reference_points(query_pos).sigmoid().expand(batch, -1, -1)
        query_pos = query_pos.expand(batch, -1, -1)
        tgt = tgt.expand(batch, -1, -1)
        depth_padding_mask = masks[0].flatten(1) if depth_memory is not None else None
        hs, references = self.decoder(
            tgt,
            init_reference,
            memory,
            levels.spatial_shapes,
            levels.level_start_index,
            levels.ratios,
            query_pos,
            levels.padding_mask,
            depth_memory,
            depth_padding_mask,
            levels.level_shapes,
        )
        return hs, init_reference, references
