"""Clustering in batched torch: k-means (greedy k-means++ + Lloyd) and distance helpers."""

from collab_infer.clustering.distances import gram_matrix, sq_distances
from collab_infer.clustering.fit import KMeansResult, kmeans
from collab_infer.clustering.kmeanspp import kmeans_plusplus

__all__ = ["KMeansResult", "gram_matrix", "kmeans", "kmeans_plusplus", "sq_distances"]
