"""Principal component analysis with torch.linalg.svd, and principal angles between subspaces.

Used by notebook 05 (section 1: PCA vs a linear autoencoder). Everything works on tensors in memory;
nothing here reads files or trains a network.
"""
from dataclasses import dataclass

import torch


@dataclass
class PCA:
    """A fitted PCA: the data mean, the top-k directions as rows, and the variance along each."""

    mean: torch.Tensor  # (d,)
    components: torch.Tensor  # (k, d), orthonormal rows, largest variance first
    explained_variance: torch.Tensor  # (k,)
    total_variance: float  # sum of the variances of all d coordinates


def flatten(X):
    """Rows of X as vectors: (N, ...) -> (N, d); used for images in notebook 05, section 1."""
    return X.reshape(len(X), -1)


def fit_pca(X, k):
    """Fit the top-k principal directions of the rows of X by SVD of the centred data (notebook 05, section 1)."""
    X = flatten(X).double()
    if not 1 <= k <= min(X.shape):
        raise ValueError(f"k={k} must lie between 1 and min(N, d)={min(X.shape)}")
    mean = X.mean(dim=0)
    Xc = X - mean
    _, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    variance = S**2 / (len(X) - 1)
    return PCA(mean=mean, components=Vh[:k], explained_variance=variance[:k],
               total_variance=float(variance.sum()))


def truncate_pca(pca, k):
    """The same PCA keeping only its top k directions (notebook 05, section 2: codes of several sizes)."""
    if not 1 <= k <= len(pca.components):
        raise ValueError(f"k={k} must lie between 1 and the {len(pca.components)} fitted directions")
    return PCA(mean=pca.mean, components=pca.components[:k], explained_variance=pca.explained_variance[:k],
               total_variance=pca.total_variance)


def pca_encode(pca, X):
    """Project the rows of X onto the k principal directions -> (N, k) codes (notebook 05, section 1)."""
    return (flatten(X).double() - pca.mean) @ pca.components.T


def pca_decode(pca, Z):
    """Map (N, k) codes back to (N, d) points in the data space (notebook 05, section 1)."""
    return Z.double() @ pca.components + pca.mean


def pca_reconstruct(pca, X):
    """Encode then decode X, returned in X's shape and dtype (notebook 05, section 1)."""
    X_hat = pca_decode(pca, pca_encode(pca, X))
    return X_hat.reshape(X.shape).to(X.dtype)


def explained_variance_ratio(pca):
    """Fraction of the total variance kept by each of the k directions (notebook 05, section 1)."""
    return pca.explained_variance / pca.total_variance


def orthonormal_basis(A, rtol=1e-10):
    """Orthonormal basis (d, r) of the column space of A (d, k), null directions dropped (notebook 05, s. 1)."""
    U, S, _ = torch.linalg.svd(A.double(), full_matrices=False)
    keep = S > rtol * S.max()
    return U[:, keep]


def principal_angles(A, B, degrees=True):
    """Principal angles between the column spaces of A (d, p) and B (d, q), smallest first (notebook 05, s. 1)."""
    # cosines = singular values of Qa^T Qb for orthonormal bases Qa, Qb (min(p, q) angles, float64)
    Qa, Qb = orthonormal_basis(A), orthonormal_basis(B)
    cosines = torch.linalg.svdvals(Qa.T @ Qb).clamp(-1.0, 1.0)
    angles = torch.arccos(cosines)
    return torch.rad2deg(angles) if degrees else angles
