"""MaskedGridDistribution: brute-force references and autograd checks of the masking claims."""

import itertools

import numpy as np
import pytest
import torch

from agent.actions import NUM_COMPONENTS, NUM_LOGITS, NVEC, OFFSETS, USES
from agent.distribution import MaskedGridDistribution



@pytest.fixture(autouse=True)
def float64_default():
    """float64 for these reference checks only (restored afterwards: other test files build nets)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def random_case(seed, B=2, H=3, W=3, p_robot=0.7, p_factory=0.4, p_legal=0.5):
    """Random logits and masks shaped like the real head: absent cells are all-False, present
    components keep at least one legal choice."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, NUM_LOGITS, H, W, generator=g) * 2
    masks = torch.rand(B, H, W, NUM_LOGITS, generator=g) < p_legal
    robot = torch.rand(B, H, W, generator=g) < p_robot
    factory = torch.rand(B, H, W, generator=g) < p_factory
    for k in range(NUM_COMPONENTS):
        sl = slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))
        present = factory if k == NUM_COMPONENTS - 1 else robot
        m = masks[..., sl].clone()
        m[..., 0] |= ~m.any(-1)  # at least one legal choice
        m &= present.unsqueeze(-1)
        masks[..., sl] = m
    return logits, masks


def reference_cell(logits_cell, mask_cell, action_cell):
    """Per-cell log-prob by explicit loops over components (numpy, float64)."""
    total = 0.0
    robot_type = int(action_cell[0])
    for k in range(NUM_COMPONENTS):
        sl = slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))
        m = mask_cell[sl]
        if not m.any():
            continue
        if k < 6 and not USES[robot_type, k]:
            continue
        z = np.where(m, logits_cell[sl], -np.inf)
        z = z - z.max()
        logp = z - np.log(np.exp(z).sum())
        total += logp[int(action_cell[k])]
    return total


def test_log_prob_matches_brute_force_reference():
    logits, masks = random_case(0)
    d = MaskedGridDistribution(logits, masks)
    a = d.sample(torch.Generator().manual_seed(1))
    lp = d.log_prob(a)
    B, _, H, W = logits.shape
    for b in range(B):
        ref = sum(reference_cell(logits[b, :, x, y].numpy(), masks[b, x, y].numpy(), a[b, x, y].numpy())
                  for x in range(H) for y in range(W))
        assert lp[b].item() == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("heavy_weight", [1.0, 4.0, 0.5])
def test_imitation_loss_weights_heavy_cells(heavy_weight):
    """training.imitation.bc.imitation_loss (fit heavy_weight=W): the batch mean of -sum over cells of
    w(cell) * log p(teacher's action), w = W on cells marked as our HEAVY and 1 elsewhere, against
    the per-cell brute-force reference; W = 1 is the plain masked log-likelihood."""
    from training.imitation.bc import imitation_loss

    logits, masks = random_case(3, B=3, H=4, W=4)
    d = MaskedGridDistribution(logits, masks)
    a = d.sample(torch.Generator().manual_seed(4))
    heavy = (torch.rand(3, 4, 4, generator=torch.Generator().manual_seed(5)) < 0.4).double()
    B, _, H, W = logits.shape
    ref = -np.mean([sum((heavy_weight if heavy[b, x, y] else 1.0)
                        * reference_cell(logits[b, :, x, y].numpy(), masks[b, x, y].numpy(), a[b, x, y].numpy())
                        for x in range(H) for y in range(W)) for b in range(B)])
    loss = imitation_loss(d, a, heavy, heavy_weight)
    assert loss.item() == pytest.approx(ref, abs=1e-9)
    if heavy_weight != 1.0:  # the weight changed the loss: the case has heavy cells with a used component
        assert loss.item() != pytest.approx(-d.log_prob(a).mean().item(), abs=1e-6)


def test_samples_are_legal_and_mode_is_argmax():
    logits, masks = random_case(2, B=4, H=5, W=5)
    d = MaskedGridDistribution(logits, masks)
    g = torch.Generator().manual_seed(3)
    for _ in range(20):
        a = d.sample(g)
        for k in range(NUM_COMPONENTS):
            sl = slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))
            m = masks[..., sl]
            present = m.any(-1)
            chosen = m.gather(-1, a[..., k:k + 1]).squeeze(-1)
            assert bool((chosen | ~present).all())
    mode = d.mode()
    for k in range(NUM_COMPONENTS):
        sl = slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))
        z = torch.where(masks[..., sl], logits.permute(0, 2, 3, 1)[..., sl], torch.tensor(-1e30))
        present = masks[..., sl].any(-1)
        assert torch.equal(torch.where(present, z.argmax(-1), 0), mode[..., k])


def test_numpy_sampler_per_component_greedy():
    """agent.policy.sample_masked with robots greedy and the factory head sampled
    (agent.json "sample_factories"): robot components are the masked argmax on every draw, the
    factory component is legal and its frequencies match the masked softmax."""
    from agent.policy import component_greedy, sample_masked

    logits, masks = random_case(5, B=1, H=4, W=4, p_factory=1.0)
    lg = logits[0].permute(1, 2, 0).numpy()  # (S, S, A) cell-major
    m = masks[0].numpy()
    flags = component_greedy(True, sample_factories=True)
    assert flags.tolist() == [True] * 6 + [False]
    full_greedy = sample_masked(lg, m, np.random.default_rng(0), greedy=True)
    rng = np.random.default_rng(1)
    draws = np.stack([sample_masked(lg, m, rng, greedy=flags) for _ in range(4000)])  # (N, S, S, 7)
    assert (draws[..., :6] == full_greedy[None, ..., :6]).all()
    sl = slice(int(OFFSETS[6]), int(OFFSETS[6] + NVEC[6]))
    z = np.where(m[..., sl], lg[..., sl], -np.inf)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    freq = np.stack([(draws[..., 6] == c).mean(0) for c in range(int(NVEC[6]))], -1)
    assert (freq[~m[..., sl]] == 0).all()
    assert np.abs(freq - p).max() < 0.04  # 4000 draws: standard error <= 0.008
    # uniform (logits None) with the same flags: robot components take the first legal choice
    first_legal = sample_masked(None, m, rng, greedy=True)
    assert (sample_masked(None, m, rng, greedy=flags)[..., :6] == first_legal[..., :6]).all()
    with pytest.raises(ValueError, match="expected 1 or 7"):
        sample_masked(lg, m, rng, greedy=[True, False])


def brute_force_cell_entropy_and_kl(lp_cell, lq_cell, mask_cell):
    """Enumerate every joint action of one cell (distinct in used components) for H and KL."""
    comps = []
    for k in range(NUM_COMPONENTS):
        sl = slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))
        comps.append((sl, mask_cell[sl]))
    H = 0.0
    KL = 0.0
    robot_present = comps[0][1].any()
    types = np.flatnonzero(comps[0][1]) if robot_present else [None]
    factory_choices = np.flatnonzero(comps[6][1]) if comps[6][1].any() else [None]

    def logpk(ln, k, c):
        sl, m = comps[k]
        z = np.where(m, ln[sl], -np.inf)
        z = z - z.max()
        return (z - np.log(np.exp(z).sum()))[c]

    for t in types:
        used = [k for k in range(1, 6) if t is not None and USES[t, k] and comps[k][1].any()]
        choice_lists = [np.flatnonzero(comps[k][1]) for k in used]
        for combo in itertools.product(*choice_lists):
            for fc in factory_choices:
                lp = (logpk(lp_cell, 0, t) if t is not None else 0.0) + sum(
                    logpk(lp_cell, k, c) for k, c in zip(used, combo)) + (logpk(lp_cell, 6, fc) if fc is not None else 0.0)
                lq = (logpk(lq_cell, 0, t) if t is not None else 0.0) + sum(
                    logpk(lq_cell, k, c) for k, c in zip(used, combo)) + (logpk(lq_cell, 6, fc) if fc is not None else 0.0)
                p = np.exp(lp)
                H -= p * lp
                KL += p * (lp - lq)
    return H, KL


def test_entropy_and_kl_match_enumeration_of_joint_actions():
    logits, masks = random_case(4, B=1, H=2, W=2, p_legal=0.4)
    other = logits + torch.randn(logits.shape, generator=torch.Generator().manual_seed(5))
    d, e = MaskedGridDistribution(logits, masks), MaskedGridDistribution(other, masks)
    H_ref = KL_ref = 0.0
    for x in range(2):
        for y in range(2):
            h, kl = brute_force_cell_entropy_and_kl(logits[0, :, x, y].numpy(), other[0, :, x, y].numpy(), masks[0, x, y].numpy())
            H_ref += h
            KL_ref += kl
    assert d.entropy()[0].item() == pytest.approx(H_ref, rel=1e-9, abs=1e-9)
    assert d.kl(e)[0].item() == pytest.approx(KL_ref, rel=1e-9, abs=1e-9)
    assert d.kl(d)[0].item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("term", ["log_prob", "entropy", "kl"])
def test_masked_logits_get_exactly_zero_gradient(term):
    logits, masks = random_case(6, B=2, H=4, W=4)
    logits.requires_grad_(True)
    d = MaskedGridDistribution(logits, masks)
    if term == "log_prob":
        a = d.sample(torch.Generator().manual_seed(7))
        adv = torch.randn(2, generator=torch.Generator().manual_seed(8))
        loss = -(d.log_prob(a) * adv).sum()
    elif term == "entropy":
        loss = -d.entropy().sum()
    else:
        teacher = MaskedGridDistribution(torch.randn(logits.shape, generator=torch.Generator().manual_seed(9)), masks)
        loss = teacher.kl(d).sum()  # KL(teacher || policy), gradient into the policy
    loss.backward()
    grad = logits.grad.permute(0, 2, 3, 1)  # (B, H, W, A)
    assert torch.all(grad[~masks] == 0.0), "a masked logit received gradient"
    assert torch.isfinite(grad).all()
    assert grad[masks].abs().sum() > 0


def test_no_nan_with_one_legal_choice_or_none():
    logits = torch.randn(1, NUM_LOGITS, 2, 2) * 50
    masks = torch.zeros(1, 2, 2, NUM_LOGITS, dtype=torch.bool)
    masks[0, 0, 0, 0] = True  # one legal robot type (keep), nothing else for that robot
    logits.requires_grad_(True)
    d = MaskedGridDistribution(logits, masks)
    a = d.sample()
    val = d.log_prob(a) + d.entropy()
    val.sum().backward()
    assert torch.isfinite(val).all() and torch.isfinite(logits.grad).all()
    assert d.log_prob(a).item() == 0.0 and d.entropy().item() == 0.0


def test_float32_is_stable_too():
    logits, masks = random_case(10, B=2, H=8, W=8)
    d = MaskedGridDistribution(logits.float() * 100, masks)
    a = d.sample()
    for v in (d.log_prob(a), d.entropy(), d.kl(d)):
        assert torch.isfinite(v).all()


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="logits must be"):
        MaskedGridDistribution(torch.zeros(1, 10, 4, 4), torch.zeros(1, 4, 4, 10, dtype=torch.bool))
    with pytest.raises(ValueError, match="masks must be"):
        MaskedGridDistribution(torch.zeros(1, NUM_LOGITS, 4, 4), torch.zeros(1, 4, 5, NUM_LOGITS, dtype=torch.bool))


def _joint_argmax_by_enumeration(logits_cell, mask_cell):
    """The likeliest whole robot action of one cell by enumerating every (type, used components)
    choice: (type, {component: choice})."""
    def logp(k):
        sl = slice(int(OFFSETS[k]), int(OFFSETS[k] + NVEC[k]))
        z = np.where(mask_cell[sl], logits_cell[sl], -np.inf)
        return z - z.max() - np.log(np.exp(z - z.max()).sum())

    lt = logp(0)
    best = (-np.inf, None, None)
    for t in range(len(lt)):
        if not np.isfinite(lt[t]):
            continue
        comps = [k for k in range(1, NUM_COMPONENTS - 1) if USES[t, k] and mask_cell[OFFSETS[k]:OFFSETS[k] + NVEC[k]].any()]
        for choice in itertools.product(*[range(int(NVEC[k])) for k in comps]):
            lp = lt[t] + sum(logp(k)[c] for k, c in zip(comps, choice))
            if lp > best[0]:
                best = (lp, t, dict(zip(comps, choice)))
    return best[1], best[2]


def test_joint_mode_is_the_likeliest_whole_action_and_the_numpy_twin_agrees():
    from agent.policy import joint_robot_type, sample_masked

    logits, masks = random_case(7, B=2, H=4, W=4, p_legal=0.6)
    jm = MaskedGridDistribution(logits, masks).joint_mode()
    mode = MaskedGridDistribution(logits, masks).mode()
    cells = 0
    for b in range(2):
        for x in range(4):
            for y in range(4):
                z, m = logits[b, :, x, y].numpy(), masks[b, x, y].numpy()
                if not m[:int(NVEC[0])].any():
                    continue
                t, comps = _joint_argmax_by_enumeration(z, m)
                assert jm[b, x, y, 0].item() == t and all(jm[b, x, y, k].item() == c for k, c in comps.items())
                assert joint_robot_type(z[None], m[None])[0] == t
                cells += 1
    assert cells > 10
    assert (jm[..., 1:] == mode[..., 1:]).all()  # the components: their own argmax either way
    # numpy play (cell-major logits) picks the same types
    for b in range(2):
        cell_major = logits[b].permute(1, 2, 0).numpy()
        got = sample_masked(cell_major, masks[b].numpy(), np.random.default_rng(0), greedy=True, joint=True)
        assert (got[..., 0] == jm[b, ..., 0].numpy()).all()


def test_joint_mode_digs_where_the_type_argmax_moves():
    """p(move) = 0.5 spread over four directions, p(dig) = 0.3: mode moves, joint_mode digs."""
    from agent.actions import C_MOVE, DIG, MOVE
    from agent.policy import sample_masked

    logits = torch.zeros(1, NUM_LOGITS, 1, 1)
    masks = torch.zeros(1, 1, 1, NUM_LOGITS, dtype=torch.bool)
    types = torch.full((int(NVEC[0]),), -30.0)
    types[MOVE], types[DIG], types[0] = np.log(0.5), np.log(0.3), np.log(0.2)
    logits[0, :int(NVEC[0]), 0, 0] = types
    masks[0, 0, 0, :int(NVEC[0])] = True
    masks[0, 0, 0, int(OFFSETS[C_MOVE]):int(OFFSETS[C_MOVE] + NVEC[C_MOVE])] = True  # four equal directions
    d = MaskedGridDistribution(logits, masks)
    assert d.mode()[0, 0, 0, 0].item() == MOVE and d.joint_mode()[0, 0, 0, 0].item() == DIG
    z, m = logits[0].permute(1, 2, 0).numpy(), masks[0].numpy()
    rng = np.random.default_rng(0)
    assert sample_masked(z, m, rng, greedy=True)[0, 0, 0] == MOVE
    assert sample_masked(z, m, rng, greedy=True, joint=True)[0, 0, 0] == DIG
    assert sample_masked(z, m, rng, greedy=False, joint=True).shape == (1, 1, NUM_COMPONENTS)  # sampled: no joint
