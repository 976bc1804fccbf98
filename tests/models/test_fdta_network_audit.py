"""An independent check of FDTA's network against hand-written references of spec ``fdta.md``.

Every reference here is re-derived from the spec's formulas (§1.3-1.7 detector and Spatial Adapter,
§3.2 Temporal Adapter, §2.6-2.7 FFN adapter and ID decoder), with attention written out as matrix
products and the deformable sampling as explicit bilinear interpolation at pixel ``(p_x W - 0.5,
p_y H - 0.5)`` with zeros outside (no ``grid_sample``, no ``nn.MultiheadAttention`` forward). In float64
the discmot modules must agree to rounding. The tiny preset's weights are perturbed at random so that
no initialisation symmetry (zero offsets, zero biases) hides a wrong formula.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from discmot.models.fdta.model import FDTA, build_fdta

TOLERANCE = 1e-11


@pytest.fixture(scope="module")
def model() -> FDTA:
    torch.manual_seed(0)
    network = build_fdta("tiny").double().eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in network.parameters():
            if parameter.requires_grad:  # not the LID bin values
                parameter.add_(0.2 * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    return network


def attention(module, query, key, value, heads, bias=None, blocked=None, zero_slot=False):
    """``nn.MultiheadAttention``'s function by hand: ``query [B, Lq, D]``, ``key``/``value [B, Lk, D]``;
    ``bias [B, heads, Lq, Lk]`` added to the scaled logits, ``blocked [B, Lq, Lk]`` bool -> -inf;
    ``zero_slot``: ``add_zero_attn`` (one all-zero key and value per head)."""
    dim = query.shape[-1]
    head_dim = dim // heads
    w, b = module.in_proj_weight, module.in_proj_bias
    q = query @ w[:dim].T + b[:dim]
    k = key @ w[dim : 2 * dim].T + b[dim : 2 * dim]
    v = value @ w[2 * dim :].T + b[2 * dim :]
    batch, lq, lk = q.shape[0], q.shape[1], k.shape[1]
    q = q.view(batch, lq, heads, head_dim).transpose(1, 2)
    k = k.view(batch, lk, heads, head_dim).transpose(1, 2)
    v = v.view(batch, lk, heads, head_dim).transpose(1, 2)
    logits = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
    if bias is not None:
        logits = logits + bias
    if blocked is not None:
        logits = logits.masked_fill(blocked[:, None], -math.inf)
    if zero_slot:
        logits = torch.cat([logits, logits.new_zeros(batch, heads, lq, 1)], -1)
        v = torch.cat([v, v.new_zeros(batch, heads, 1, head_dim)], 2)
    out = (logits.softmax(-1) @ v).transpose(1, 2).reshape(batch, lq, dim)
    return out @ module.out_proj.weight.T + module.out_proj.bias


def layer_norm(module, x):
    return F.layer_norm(x, x.shape[-1:], module.weight, module.bias, module.eps)


def sine_2d(mask: torch.Tensor, features: int) -> torch.Tensor:
    """§1.3: normalised 2-D sine PE of ``mask [B, H, W]`` -> ``[B, H, W, 2 * features]`` (fp32, widened)."""
    valid = (~mask).float()
    y, x = valid.cumsum(1), valid.cumsum(2)
    y = (y - 0.5) / (y[:, -1:, :] + 1e-6) * 2 * math.pi
    x = (x - 0.5) / (x[:, :, -1:] + 1e-6) * 2 * math.pi
    omega = 10000 ** (2 * (torch.arange(features, dtype=torch.float32) // 2) / features)

    def encode(positions):
        angles = positions[..., None] / omega
        out = torch.empty_like(angles)
        out[..., 0::2], out[..., 1::2] = angles[..., 0::2].sin(), angles[..., 1::2].cos()
        return out

    return torch.cat([encode(y), encode(x)], -1).double()


def bilinear_zeros(value_map: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """``value_map [C, H, W]`` at pixel coordinates ``px``, ``py`` ``[...]`` (zeros outside): ``[..., C]``."""
    _, height, width = value_map.shape
    x0, y0 = px.floor(), py.floor()
    out = value_map.new_zeros(*px.shape, value_map.shape[0])
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        xs, ys = x0 + dx, y0 + dy
        weight = (1 - (px - xs).abs()) * (1 - (py - ys).abs())
        inside = (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)
        sample = value_map[:, ys.clamp(0, height - 1).long(), xs.clamp(0, width - 1).long()]
        out = out + (weight * inside)[..., None] * sample.movedim(0, -1)
    return out


def deformable_attention(module, query, reference, value, value_mask, shapes):
    """§1.5 by hand: ``query [B, Q, D]``, ``reference [B, Q, L, 2 or 4]`` (valid-ratio scaled)."""
    batch, queries, dim = query.shape
    heads, levels, points = module.n_heads, module.n_levels, module.n_points
    head_dim = dim // heads
    values = module.value_proj(value).masked_fill(value_mask[..., None], 0).view(batch, -1, heads, head_dim)
    offsets = module.sampling_offsets(query).view(batch, queries, heads, levels, points, 2)
    weights = module.attention_weights(query).view(batch, queries, heads, levels * points).softmax(-1)
    weights = weights.view(batch, queries, heads, levels, points)
    out = query.new_zeros(batch, queries, heads, head_dim)
    start = 0
    for level, (height, width) in enumerate(shapes):
        ref = reference[:, :, None, level, None]  # [B, Q, 1, 1, 2 or 4]
        delta = offsets[:, :, :, level]  # [B, Q, M, K, 2]
        if ref.shape[-1] == 2:
            location = ref + delta / torch.tensor([width, height], dtype=delta.dtype)
        else:
            location = ref[..., :2] + delta / points * ref[..., 2:] * 0.5
        for b in range(batch):
            for m in range(heads):
                value_map = values[b, start : start + height * width, m].T.reshape(head_dim, height, width)
                samples = bilinear_zeros(
                    value_map, location[b, :, m, :, 0] * width - 0.5, location[b, :, m, :, 1] * height - 0.5
                )  # [Q, K, Dh]
                out[b, :, m] += (weights[b, :, m, level, :, None] * samples).sum(1)
        start += height * width
    return module.output_proj(out.reshape(batch, queries, dim))


def logit(x):
    x = x.clamp(0, 1)
    return torch.log(x.clamp(min=1e-5) / (1 - x).clamp(min=1e-5))


def reference_detector(detr, images, mask):
    """§1.2-1.7 and §3.1 by hand (the ResNet body itself is the module's: its tests cover it)."""
    features = detr.backbone[0](images)
    srcs = [detr.input_proj[level](features[level]) for level in range(3)]
    srcs.append(detr.input_proj[3](features[2]))  # the 4th level reads the raw layer4 output
    masks = [F.interpolate(mask[None].float(), size=s.shape[-2:]).bool()[0] for s in srcs]
    dim = srcs[0].shape[1]
    positions = [sine_2d(m, dim // 2) for m in masks]  # [B, H, W, D]
    # Spatial Adapter: fused stride-8 features, LID logits, expected depth, depth memory
    depth = detr.depth_predictor
    size = srcs[0].shape[-2:]
    fused = depth.proj(srcs[0])
    for level in (1, 2):
        resized = F.interpolate(srcs[level], size=size, mode="bilinear", align_corners=False)
        fused = fused + depth.upsample(resized)
    fused = depth.depth_head(fused / 3)
    depth_logits = depth.depth_classifier(fused)
    expected = (depth_logits.softmax(1) * depth.depth_bin_values[None, :, None, None]).sum(1)
    tokens = fused.flatten(2).transpose(1, 2)
    pos8, mask8 = positions[0].flatten(1, 2), masks[0].flatten(1)
    layer = depth.depth_encoder.layers[0]
    blocked8 = mask8[:, None, :].expand(-1, tokens.shape[1], -1)
    tokens = layer_norm(
        layer.norm1,
        tokens + attention(layer.self_attn, tokens + pos8, tokens + pos8, tokens, 4, blocked=blocked8),
    )
    tokens = layer_norm(layer.norm2, tokens + layer.linear2(F.relu(layer.linear1(tokens))))
    d = expected.clamp(0, 256).flatten(1)
    lower = d.floor()
    table = depth.depth_pos_embed.weight
    upper = (lower + 1).clamp(max=256)
    depth_pe = (1 - (d - lower))[..., None] * table[lower.long()] + (d - lower)[..., None] * table[
        upper.long()
    ]
    depth_memory = tokens + depth_pe
    # encoder
    shapes = [tuple(s.shape[-2:]) for s in srcs]
    # [B, L, (w, h)] valid fractions (the original divides in fp32; a float64 model keeps float64)
    ratios = torch.stack(
        [
            torch.stack(
                [(~m[:, 0, :]).sum(1).double() / m.shape[2], (~m[:, :, 0]).sum(1).double() / m.shape[1]], -1
            )
            for m in masks
        ],
        1,
    )
    src = torch.cat([s.flatten(2).transpose(1, 2) for s in srcs], 1)
    pos = torch.cat([p.flatten(1, 2) + detr.transformer.level_embed[lv] for lv, p in enumerate(positions)], 1)
    padding = torch.cat([m.flatten(1) for m in masks], 1)
    points = []
    for level, (height, width) in enumerate(shapes):
        rows, columns = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        x = (columns.flatten() + 0.5)[None] / (ratios[:, level, 0:1] * width)
        y = (rows.flatten() + 0.5)[None] / (ratios[:, level, 1:2] * height)
        points.append(torch.stack([x, y], -1))
    encoder_reference = torch.cat(points, 1)[:, :, None] * ratios[:, None]
    memory = src
    for layer in detr.transformer.encoder.layers:
        attended = deformable_attention(
            layer.self_attn, memory + pos, encoder_reference, memory, padding, shapes
        )
        memory = layer_norm(layer.norm1, memory + attended)
        memory = layer_norm(layer.norm2, memory + layer.linear2(F.relu(layer.linear1(memory))))
    # decoder with depth cross-attention and box refinement
    batch = images.shape[0]
    query_pos = detr.query_embed.weight[:, :dim].expand(batch, -1, -1)
    tgt = detr.query_embed.weight[:, dim:].expand(batch, -1, -1)
    reference = detr.transformer.reference_points(query_pos).sigmoid()
    heads = detr.transformer.decoder.layers[0].self_attn.num_heads
    blocked_depth = mask8[:, None, :].expand(-1, tgt.shape[1], -1)
    outputs = []
    for index, layer in enumerate(detr.transformer.decoder.layers):
        scale = ratios if reference.shape[-1] == 2 else torch.cat([ratios, ratios], -1)
        sampled_reference = reference[:, :, None] * scale[:, None]
        qk = tgt + query_pos
        tgt = layer_norm(layer.norm2, tgt + attention(layer.self_attn, qk, qk, tgt, heads))
        crossed = deformable_attention(
            layer.cross_attn, tgt + query_pos, sampled_reference, memory, padding, shapes
        )
        tgt = layer_norm(layer.norm1, tgt + crossed)
        depth_out = attention(
            layer.cross_attn_depth, tgt, depth_memory, depth_memory, heads, blocked=blocked_depth
        )
        tgt = layer_norm(layer.norm_depth, tgt + depth_out)
        tgt = layer_norm(layer.norm3, tgt + layer.linear2(F.relu(layer.linear1(tgt))))
        delta = detr.bbox_embed[index](tgt)
        if reference.shape[-1] == 2:
            boxes = torch.cat([delta[..., :2] + logit(reference), delta[..., 2:]], -1).sigmoid()
        else:
            boxes = (delta + logit(reference)).sigmoid()
        outputs.append((detr.class_embed[index](tgt), boxes, tgt))
        reference = boxes
    return outputs, depth_logits, expected


def test_detector_forward_matches_a_reference_written_from_the_spec(model):
    generator = torch.Generator().manual_seed(2)
    images = torch.randn(2, 3, 45, 70, generator=generator, dtype=torch.float64)
    mask = torch.zeros(2, 45, 70, dtype=torch.bool)
    mask[1, 33:, :] = True  # frame 1 padded bottom and right: valid ratios below 1
    mask[1, :, 51:] = True
    images = images.masked_fill(mask[:, None], 0.0)
    with torch.no_grad():
        got = model.detect(images, mask)
        layers, depth_logits, expected_depth = reference_detector(model.detr, images, mask)
    torch.testing.assert_close(got["pred_depth_map_logits"], depth_logits, rtol=0, atol=TOLERANCE)
    torch.testing.assert_close(got["weighted_depth"], expected_depth, rtol=0, atol=TOLERANCE)
    logits, boxes, embeddings = layers[-1]
    torch.testing.assert_close(got["pred_logits"], logits, rtol=0, atol=TOLERANCE)
    torch.testing.assert_close(got["pred_boxes"], boxes, rtol=0, atol=TOLERANCE)
    torch.testing.assert_close(got["outputs"], embeddings, rtol=0, atol=TOLERANCE)
    for aux, (aux_logits, aux_boxes, _) in zip(got["aux_outputs"], layers[:-1], strict=True):
        torch.testing.assert_close(aux["pred_logits"], aux_logits, rtol=0, atol=TOLERANCE)
        torch.testing.assert_close(aux["pred_boxes"], aux_boxes, rtol=0, atol=TOLERANCE)


def reference_temporal_adapter(adapter, features, masks):
    """§3.2 by hand, one (g, n) sequence at a time: fp32 sine PE of positions 1..T at every layer,
    key k blocked for query j iff k > j or (k missing and k != j)."""
    _, groups, length, slots, dim = features.shape
    positions = torch.arange(1, length + 1, dtype=torch.float32)[:, None]
    channels = torch.arange(dim, dtype=torch.float32)[None]
    angles = positions / 10000 ** (2 * (channels // 2) / dim)
    pe = torch.where(channels.long() % 2 == 0, angles.sin(), angles.cos()).double()
    out = torch.empty_like(features)
    for g in range(groups):
        for n in range(slots):
            x = features[0, g, :, n][None]
            missing = masks[0, g, :, n]
            blocked = torch.tensor(
                [[k > j or (bool(missing[k]) and k != j) for k in range(length)] for j in range(length)]
            )
            for layer in adapter.trca:
                qk = x + pe
                x = layer_norm(
                    layer.norm1,
                    x + attention(layer.self_attn, qk, qk, x, adapter.num_heads, blocked=blocked[None]),
                )
                x = layer_norm(layer.norm2, x + layer.linear2(F.relu(layer.linear1(x))))
            out[0, g, :, n] = x[0]
    return out


def reference_id_logits(model, features, labels, times, masks, unknown, unknown_times, unknown_masks):
    """§2.1, §2.6-2.7 by hand for B = 1, T' = 1: tokens, causal + padding mask, ``rel_pos_embeds[l,
    t_q - t_k, h]`` added after scaling, ``add_zero_attn`` everywhere, self-attention from layer 1 on."""
    decoder, ffn_adapter = model.id_decoder, model.trajectory_modeling
    history = reference_temporal_adapter(model.trajectory_embedding, features, masks)
    gelu = torch.nn.functional.gelu
    history = layer_norm(
        ffn_adapter.norm, history + ffn_adapter.adapter.linear2(gelu(ffn_adapter.adapter.linear1(history)))
    )
    history = layer_norm(
        ffn_adapter.ffn_norm, history + ffn_adapter.ffn.linear2(gelu(ffn_adapter.ffn.linear1(history)))
    )
    words = decoder.word_to_embed.weight.T  # row l = ID embedding of label l
    newborn = decoder.num_id_vocabulary
    heads = decoder.num_heads
    table = decoder.rel_pos_embeds
    feature_dim = features.shape[-1]
    out = []
    for g in range(features.shape[1]):
        keys = torch.cat([history[0, g], words[labels[0, g]]], -1).flatten(0, 1)[None]  # [1, T*N, D]
        queries = torch.cat([unknown[0, g, 0], words[newborn].expand(unknown.shape[3], -1)], -1)[None]
        gap = unknown_times[0, g, 0][:, None] - times[0, g].flatten()[None]
        blocked = (gap <= 0) | masks[0, g].flatten()[None]
        padding = unknown_masks[0, g, 0][None, None, :].expand(1, queries.shape[1], -1)
        for layer in range(len(decoder.cross_attn_layers)):
            if layer > 0:
                attended = attention(
                    decoder.self_attn_layers[layer - 1],
                    queries,
                    queries,
                    queries,
                    heads,
                    blocked=padding,
                    zero_slot=True,
                )
                queries = layer_norm(decoder.self_attn_norm_layers[layer - 1], queries + attended)
            bias = table[layer][gap % table.shape[1]].permute(2, 0, 1)[None]  # negative gaps: from the end
            attended = attention(
                decoder.cross_attn_layers[layer],
                queries,
                keys,
                keys,
                heads,
                bias=bias,
                blocked=blocked[None],
                zero_slot=True,
            )
            queries = layer_norm(decoder.cross_attn_norm_layers[layer], queries + attended)
            queries = layer_norm(decoder.ffn_norm_layers[layer], queries + decoder.ffn_layers[layer](queries))
        out.append(decoder.embed_to_word(queries[0, :, feature_dim:]))
    return torch.stack(out)[None, :, None]


def test_id_path_matches_a_reference_written_from_the_spec(model):
    generator = torch.Generator().manual_seed(3)
    groups, frames, slots, detections = 2, 5, 3, 4
    dim = model.config.id_decoder.feature_dim
    masks = torch.rand(1, groups, frames, slots, generator=generator) < 0.4
    masks[0, 0, :, 2] = True  # a column never seen: its keys are all blocked
    features = torch.randn(1, groups, frames, slots, dim, generator=generator, dtype=torch.float64)
    features = features.masked_fill(masks[..., None], 0.0)
    labels = torch.randint(
        0, model.config.id_decoder.num_id_vocabulary, (1, groups, frames, slots), generator=generator
    )
    times = torch.arange(frames).view(1, 1, frames, 1).expand(1, groups, frames, slots)
    unknown = torch.randn(1, groups, 1, detections, dim, generator=generator, dtype=torch.float64)
    unknown_times = torch.full((1, groups, 1, detections), frames)
    unknown_times[0, 1, 0, 0] = 2  # a detection that may see only frames 0 and 1
    unknown_masks = torch.zeros(1, groups, 1, detections, dtype=torch.bool)
    unknown_masks[0, 1, 0, 3] = True  # a padded detection: no self-attention key
    with torch.no_grad():
        got = model.id_logits(features, labels, times, masks, unknown, unknown_times, unknown_masks)
        expected = reference_id_logits(
            model, features, labels, times, masks, unknown, unknown_times, unknown_masks
        )
        adapted = model.trajectory_embedding(features, masks)
        adapted_expected = reference_temporal_adapter(model.trajectory_embedding, features, masks)
    torch.testing.assert_close(adapted, adapted_expected, rtol=0, atol=TOLERANCE)
    valid = ~unknown_masks[..., None].expand_as(got)
    torch.testing.assert_close(got[valid], expected[valid], rtol=0, atol=TOLERANCE)
