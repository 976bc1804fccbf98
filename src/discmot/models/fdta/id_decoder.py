"""MOTIP's ID decoder (spec ``fdta.md`` §2.1, §2.7), official module name ``id_decoder``.

ID prediction as in-context classification: each current detection ("unknown token"
``[f ‖ E_id(K)]``, ``K`` = the newborn word) attends to the trajectory tokens ``[f̃ ‖ E_id(ℓ)]`` of its group
that are strictly earlier in time, and the ID half of its final state is classified into one of the ``K``
ID labels or "newborn" (label ``K``).

Each layer ``l`` (post-norm everywhere, U = unknown tokens, Z = trajectory tokens, Z is never updated):

1. ``l ≥ 1``: ``U <- LN(U + SelfAttn(U))`` among the detections of the same frame (key padding);
2. ``U <- LN(U + CrossAttn(U, Z))`` per (batch, group) over all history tokens, a key being blocked when it
   is missing or not strictly earlier than the query; ``rel_pos_embeds[l, t_query - t_key, head]`` is added
   to the allowed logits (a learned relative temporal bias);
3. ``U <- LN(U + FFN(U))``.

Every attention is ``nn.MultiheadAttention(..., add_zero_attn=True)``: an all-zero key/value joins the
softmax, so a query with no allowed key returns exactly the out-projection bias (no NaN).

The classifier ``embed_to_word`` is one module registered ``layers`` times in ``embed_to_word_layers``, as
in the official checkpoints (``USE_AUX_LOSS: False``); `IDDecoder` refuses to load differing copies.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from discmot.models.fdta.config import IDDecoderConfig
from discmot.models.fdta.trajectory_modeling import FeedForward, xavier_init_matrices


def _attention(dim: int, num_heads: int) -> nn.MultiheadAttention:
    return nn.MultiheadAttention(dim, num_heads, dropout=0.0, batch_first=True, add_zero_attn=True)


def _norms(dim: int, count: int) -> nn.ModuleList:
    return nn.ModuleList(nn.LayerNorm(dim) for _ in range(count))


class IDDecoder(nn.Module):
    """MOTIP's ID decoder: see the module docstring. Token width ``D = feature_dim + id_dim`` (512).

    Args:
        config: vocabulary size ``K``, widths, heads (``D / head_dim``), layers and ``rel_pe_length``.
    """

    def __init__(self, config: IDDecoderConfig):
        super().__init__()
        self.num_id_vocabulary = config.num_id_vocabulary
        self.feature_dim = config.feature_dim
        self.num_heads = config.num_heads
        num_words, dim, layers = config.num_id_vocabulary + 1, config.token_dim, config.layers
        self.rel_pos_embeds = nn.Parameter(torch.zeros(layers, config.rel_pe_length, self.num_heads))
        self.word_to_embed = nn.Linear(num_words, config.id_dim, bias=False)
        # One classifier written `layers` times: the official state dicts hold six keys, one tensor.
        self.embed_to_word_layers = nn.ModuleList([nn.Linear(config.id_dim, num_words, bias=False)] * layers)
        self.self_attn_layers = nn.ModuleList(_attention(dim, self.num_heads) for _ in range(layers - 1))
        self.self_attn_norm_layers = _norms(dim, layers - 1)
        self.cross_attn_layers = nn.ModuleList(_attention(dim, self.num_heads) for _ in range(layers))
        self.cross_attn_norm_layers = _norms(dim, layers)
        self.ffn_layers = nn.ModuleList(FeedForward(dim, dim * config.ffn_dim_ratio) for _ in range(layers))
        self.ffn_norm_layers = _norms(dim, layers)
        xavier_init_matrices(self, skip=("rel_pos_embeds",))

    @property
    def embed_to_word(self) -> nn.Linear:
        """The ID classifier ``Linear(id_dim -> K + 1)``, the module behind every ``embed_to_word_layers``."""
        return cast(nn.Linear, self.embed_to_word_layers[0])  # nn.ModuleList indexing is typed as any Module

    @property
    def newborn_label(self) -> int:
        """The special word ``K``: input word of every unknown token and the "new object" class."""
        return self.num_id_vocabulary

    def id_embeddings(self, labels: torch.Tensor) -> torch.Tensor:
        """ID embeddings ``[..., id_dim]`` of ``labels [...]`` (long): column ℓ of ``word_to_embed``.

        Label ``K`` is the newborn word; negative labels (padding) give zero vectors.
        """
        table = self.word_to_embed.weight.t()
        embeddings = table[labels.clamp(min=0)]
        return embeddings.masked_fill((labels < 0)[..., None], 0.0)

    def forward(
        self,
        history_tokens: torch.Tensor,
        history_times: torch.Tensor,
        history_masks: torch.Tensor,
        unknown_tokens: torch.Tensor,
        unknown_times: torch.Tensor,
        unknown_masks: torch.Tensor,
    ) -> torch.Tensor:
        """ID-label logits of the unknown tokens (only the last layer's, ``USE_AUX_LOSS: False``).

        Args:
            history_tokens: ``[B, G, T, N, D]`` trajectory tokens ``[f̃ ‖ E_id(ℓ)]``.
            history_times: ``[B, G, T, N]`` long frame indices.
            history_masks: ``[B, G, T, N]`` bool, True = missing / padding (never attended to).
            unknown_tokens: ``[B, G, T', M, D]`` detection tokens ``[f ‖ E_id(K)]``.
            unknown_times: ``[B, G, T', M]`` long frame indices (a query sees keys with smaller times only).
            unknown_masks: ``[B, G, T', M]`` bool, True = padding (ignored as self-attention keys).

        Returns:
            ``[B, G, T', M, K + 1]`` logits; the rows of masked unknown tokens are meaningless.
        """
        batch, groups, frames, detections, dim = unknown_tokens.shape
        keys = history_tokens.reshape(batch * groups, -1, dim)
        queries = unknown_tokens.reshape(batch * groups, frames * detections, dim)
        blocked, rel_index = self._cross_attention_layout(history_times, history_masks, unknown_times)
        self_padding = unknown_masks.reshape(batch * groups * frames, detections)
        for layer in range(len(self.cross_attn_layers)):
            if layer > 0:
                queries = self._self_attention(layer - 1, queries, self_padding)
            queries = self._cross_attention(layer, queries, keys, blocked, rel_index)
            queries = self.ffn_norm_layers[layer](queries + self.ffn_layers[layer](queries))
        logits = self.embed_to_word(queries[..., self.feature_dim :])
        return logits.reshape(batch, groups, frames, detections, -1)

    def _cross_attention_layout(
        self, history_times: torch.Tensor, history_masks: torch.Tensor, unknown_times: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Blocked pairs ``[BG, Q, K]`` bool and bias rows ``[BG, Q, K]`` long (Q = T'·M, K = T·N)."""
        batch_groups = history_times.shape[0] * history_times.shape[1]
        query_times = unknown_times.reshape(batch_groups, -1, 1)
        key_times = history_times.reshape(batch_groups, 1, -1)
        time_gap = query_times - key_times
        blocked = (time_gap <= 0) | history_masks.reshape(batch_groups, 1, -1)
        table_length = self.rel_pos_embeds.shape[1]
        # One host sync for the check; boolean indexing (`time_gap[~blocked]`) would add a second.
        if bool(((time_gap >= table_length) & ~blocked).any()):
            raise ValueError(
                f"a query sees history {int(time_gap[~blocked].max())} frames back but the relative "
                f"position table has {table_length} rows (rel_pe_length); shorten the history window"
            )
        # Blocked pairs get -inf whatever their bias, so any in-range row does for them.
        return blocked, time_gap.clamp(0, table_length - 1)

    def _cross_attention(
        self,
        layer: int,
        queries: torch.Tensor,
        keys: torch.Tensor,
        blocked: torch.Tensor,
        rel_index: torch.Tensor,
    ) -> torch.Tensor:
        """``LN(U + CrossAttn(U, Z))`` for ``queries [BG, Q, D]``, ``keys [BG, K, D]`` -> ``[BG, Q, D]``."""
        bias = self.rel_pos_embeds[layer].to(queries.dtype)[rel_index]  # [BG, Q, K, heads]
        bias = bias.permute(0, 3, 1, 2).masked_fill(blocked[:, None], float("-inf"))
        attn_mask = bias.reshape(-1, *blocked.shape[1:])  # [(BG)*heads, Q, K], head-minor as MHA wants
        attended = self.cross_attn_layers[layer](queries, keys, keys, attn_mask=attn_mask, need_weights=False)
        return self.cross_attn_norm_layers[layer](queries + attended[0])

    def _self_attention(self, index: int, queries: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        """``LN(U + SelfAttn(U))`` among the ``M`` detections of each frame; ``queries [BG, T'·M, D]``."""
        per_frame = queries.reshape(padding.shape[0], padding.shape[1], -1)
        attended = self.self_attn_layers[index](
            per_frame, per_frame, per_frame, key_padding_mask=padding, need_weights=False
        )[0]
        return self.self_attn_norm_layers[index](queries + attended.reshape(queries.shape))

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        # The copies all load into one tensor (the last would win): refuse files where they differ.
        copies = [state_dict[k] for k in state_dict if k.startswith(prefix + "embed_to_word_layers.")]
        if any(c.shape != copies[0].shape or not torch.equal(c, copies[0]) for c in copies[1:]):
            error_msgs.append(f"{prefix}embed_to_word_layers.*.weight differ; they must be one shared tensor")
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
