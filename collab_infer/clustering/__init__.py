"""Clustering in batched torch: k-means (greedy k-means++ + Lloyd) and distance helpers."""

from collab_infer.clustering.distances import sq_distances
from collab_infer.clustering.kmeanspp import kmeans_plusplus
from collab_infer.clustering.lloyd import KMeansResult, kmeans

__all__ = ["KMeansResult", "kmeans", "kmeans_plusplus", "sq_distances"]
