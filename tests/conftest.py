import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """An untrained tiny GPT-NeoX with the toy tokenizer, saved with save_pretrained."""
    from allroads import models
    from allroads.tasks.facts import FactsTask

    out = tmp_path_factory.mktemp("tiny")
    tok = FactsTask.tokenizer()
    model = models.init_tiny_model(
        {"hidden_size": 32, "num_layers": 2, "num_heads": 2}, tok, seed=0
    )
    models.save(model, tok, out)
    return str(out)
