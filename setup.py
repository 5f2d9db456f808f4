"""tfx-seqgen: Contextual RNN sequence generation for TFX pipelines.

The exact, tested versions of every dependency are in requirements/lock.txt;
the ranges here are what the package itself needs.
"""

from setuptools import find_packages, setup

setup(
    name="tfx-seqgen",
    version="0.1.0",
    description="Contextual RNN sequence generation for TFX pipelines",
    python_requires=">=3.9,<3.11",
    packages=find_packages(include=["components*", "pipeline*", "models*", "serving*"]),
    py_modules=["seqgen", "local_runner", "kubeflow_runner"],
    install_requires=[
        "tfx==1.16.0",
        "tensorflow==2.16.2",
        "apache-beam[gcp]==2.59.0",
        "tensorflow-transform==1.16.0",
        "tensorflow-model-analysis>=0.47,<0.48",
        "tensorflow-serving-api==2.16.1",
        "keras==3.6.0",
        "tf-keras==2.16.0",
        "kfp==2.5.0",
        "matplotlib",
    ],
    extras_require={
        "dev": ["pytest", "ruff"],
        # notebooks/: make setup installs these too (they are in the lock).
        "notebook": ["jupyterlab", "ipykernel", "nbclient", "nbformat", "pandas"],
    },
    entry_points={"console_scripts": ["seqgen=seqgen:console_main"]},
)
