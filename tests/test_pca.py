import math

import pytest
import torch
from torch import nn

from course_utils import pca as P


def low_rank_data(n=400, d=12, rank=3, noise=0.01, seed=0):
    """Points near a rank-`rank` subspace of R^d, with well separated variances along it."""
    g = torch.Generator().manual_seed(seed)
    basis, _ = torch.linalg.qr(torch.randn(d, rank, generator=g))
    scales = torch.tensor([3.0, 2.0, 1.0])[:rank]
    codes = torch.randn(n, rank, generator=g) * scales
    X = codes @ basis.T + 0.5 + noise * torch.randn(n, d, generator=g)
    return X, basis


def test_flatten_images():
    X = torch.arange(5 * 2 * 4 * 3, dtype=torch.float32).reshape(5, 2, 4, 3)
    flat = P.flatten(X)
    assert flat.shape == (5, 24)
    assert torch.equal(flat[3], X[3].reshape(-1))  # each row is one image, in C, H, W order
    assert flat[1, 0] == X[1, 0, 0, 0] and flat[1, 23] == X[1, 1, 3, 2] and flat[2, 12] == X[2, 1, 0, 0]
    assert torch.equal(P.flatten(flat), flat)  # vectors stay as they are


def test_fit_pca_hand_computed_2d():
    # points on the line y = x through (1, 1): one direction, variance of (-1, 0, 1)*sqrt(2) = 2
    X = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    pca = P.fit_pca(X, 1)
    assert torch.allclose(pca.mean, torch.tensor([1.0, 1.0], dtype=torch.float64))
    direction = pca.components[0].abs()
    assert torch.allclose(direction, torch.full((2,), 1 / math.sqrt(2), dtype=torch.float64))
    assert pca.explained_variance.item() == pytest.approx(2.0)
    assert pca.total_variance == pytest.approx(2.0)
    assert P.explained_variance_ratio(pca).item() == pytest.approx(1.0)


def test_pca_components_orthonormal_and_sorted():
    X, _ = low_rank_data()
    pca = P.fit_pca(X, 3)
    gram = pca.components @ pca.components.T
    assert torch.allclose(gram, torch.eye(3, dtype=torch.float64), atol=1e-10)
    assert torch.all(pca.explained_variance[:-1] >= pca.explained_variance[1:])


def test_pca_finds_the_generating_subspace():
    X, basis = low_rank_data()
    pca = P.fit_pca(X, 3)
    angles = P.principal_angles(pca.components.T, basis)
    assert angles.max().item() < 1.0


def test_pca_reconstruct_shape_dtype_and_error():
    X, _ = low_rank_data(noise=0.0)
    images = X.reshape(len(X), 1, 3, 4)
    pca = P.fit_pca(images, 3)
    X_hat = P.pca_reconstruct(pca, images)
    assert X_hat.shape == images.shape and X_hat.dtype == images.dtype
    assert torch.allclose(X_hat, images, atol=1e-4)  # noise-free rank-3 data is rebuilt exactly
    assert P.pca_encode(pca, images).shape == (len(X), 3)


def test_pca_reconstruction_error_equals_discarded_variance():
    X, _ = low_rank_data(noise=0.1)
    pca_all = P.fit_pca(X, X.shape[1])
    pca = P.fit_pca(X, 2)
    err = ((P.pca_reconstruct(pca, X.double()) - X.double()) ** 2).sum(dim=1).mean()
    discarded = pca_all.explained_variance[2:].sum() * (len(X) - 1) / len(X)
    assert err.item() == pytest.approx(discarded.item(), rel=1e-6)


def test_truncate_pca_equals_a_smaller_fit():
    X, _ = low_rank_data(noise=0.1)
    small = P.truncate_pca(P.fit_pca(X, 6), 2)
    direct = P.fit_pca(X, 2)
    assert torch.allclose(small.components, direct.components)
    assert torch.allclose(small.explained_variance, direct.explained_variance)
    assert small.total_variance == pytest.approx(direct.total_variance)
    with pytest.raises(ValueError, match="k=7"):
        P.truncate_pca(P.fit_pca(X, 6), 7)


def test_fit_pca_rejects_bad_k():
    with pytest.raises(ValueError, match="k=0"):
        P.fit_pca(torch.randn(10, 4), 0)
    with pytest.raises(ValueError, match="k=5"):
        P.fit_pca(torch.randn(10, 4), 5)


def test_orthonormal_basis_drops_dependent_columns():
    A = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    Q = P.orthonormal_basis(A)
    assert Q.shape == (3, 2)
    assert torch.allclose(Q.T @ Q, torch.eye(2, dtype=torch.float64), atol=1e-12)


def test_principal_angles_identical_subspaces_are_zero():
    A = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    mixing = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [1.0, 0.0, 1.0]])
    angles = P.principal_angles(A, A @ mixing)  # same span, different basis
    assert torch.allclose(angles, torch.zeros(3, dtype=torch.float64), atol=1e-5)


def test_principal_angles_orthogonal_subspaces_are_90_degrees():
    E = torch.eye(5)
    angles = P.principal_angles(E[:, :2], E[:, 2:4])
    assert torch.allclose(angles, torch.full((2,), 90.0, dtype=torch.float64))


def test_principal_angles_hand_computed_45_degrees_and_radians():
    # x-axis vs the line y = x in the plane: 45 degrees; a plane shares the x-axis with the xz-plane
    a = torch.tensor([[1.0], [0.0]])
    b = torch.tensor([[1.0], [1.0]])
    assert P.principal_angles(a, b).item() == pytest.approx(45.0)
    assert P.principal_angles(a, b, degrees=False).item() == pytest.approx(math.pi / 4)
    xy = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    xz = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    assert P.principal_angles(xy, xz).tolist() == pytest.approx([0.0, 90.0], abs=1e-6)


def train_linear_autoencoder(X, k, steps=300, lr=0.05, seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(X.shape[1], k), nn.Linear(k, X.shape[1]))
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((net(X) - X) ** 2).mean()
        loss.backward()
        optimizer.step()
    return net


def test_linear_autoencoder_spans_pca_subspace_but_not_its_basis(one_thread):
    X, _ = low_rank_data(noise=0.05)
    net = train_linear_autoencoder(X, 3)
    decoder_columns = net[1].weight.detach()  # (d, k)
    pca = P.fit_pca(X, 3)
    angles = P.principal_angles(pca.components.T, decoder_columns)
    assert angles.max().item() < 2.0
    # same span, but the decoder's columns are not an orthonormal (principal) basis
    gram = decoder_columns.T @ decoder_columns
    assert (gram - torch.eye(3)).abs().max().item() > 0.1
