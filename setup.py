"""tfx-seqgen: Contextual RNN sequence generation for TFX pipelines.

The exact, tested versions of every dependency are in requirements/lock.txt;
the ranges here are what the package itself supports.
"""

from setuptools import find_packages, setup

# One installed namespace, tfx_seqgen, so nothing collides with the `models`
# or `pipeline` of the TFX project this plugs into. The folders keep their
# places at the top of the repository; tfx_seqgen/<folder> is a symbolic link
# to each, so tfx_seqgen.models is models/ for setuptools, for Python and
# for static tools (pyright, an IDE, an import graph) alike.
FOLDERS = ("components", "models", "pipeline", "serving", "tasks")

setup(
    name="tfx-seqgen",
    version="0.1.0",
    description="Contextual RNN sequence generation for TFX pipelines",
    python_requires=">=3.9,<3.11",
    packages=find_packages(include=["tfx_seqgen", *(f"tfx_seqgen.{f}*" for f in FOLDERS)]),
    install_requires=[
        "tfx>=1.16,<1.17",
        "tensorflow>=2.16,<2.17",
        # Newer Beam breaks tensorflow-transform 1.16.
        "apache-beam[gcp]>=2.59,<2.60",
        "tensorflow-transform>=1.16,<1.17",
        "tensorflow-model-analysis>=0.47,<0.48",
        "tensorflow-serving-api>=2.16,<2.17",
        "keras>=3.6,<4",
        "tf-keras>=2.16,<2.17",
        "kfp>=2.5,<3",
        "matplotlib>=3.5",
        # the typed configuration (tfx_seqgen.schema)
        "pydantic>=2,<3",
        # the sequences task reads users' CSV and Parquet tables
        "pandas>=1.5",
        "pyarrow>=10",
        # the built-in model server: REST API and Prometheus metrics
        "tornado>=6.1",
        "prometheus-client>=0.16",
    ],
    extras_require={
        "dev": ["pytest", "ruff"],
        # notebooks/: make setup installs these too (they are in the lock).
        "notebook": ["jupyterlab", "ipykernel", "nbclient", "nbformat", "pandas"],
    },
    entry_points={"console_scripts": ["seqgen=tfx_seqgen.cli:console_main"]},
)
