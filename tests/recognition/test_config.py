"""recognition.config.SETTINGS is the one declaration of a training setting: the defaults, the flags of
``python -m recognition.train`` and the settings a run folder is compared on all come from it."""
import argparse

import pytest

from recognition import config, train_cli

# the flags python -m recognition.train had before the table (issue 21): none may disappear or be renamed
FLAGS = ("--dataset --data --arch --variant --half --channels --epochs --batch-size --lr --schedule --momentum "
         "--weight-decay --out --resume --pretrained --image-size --half-mode --rotation --erase-p "
         "--separate-backbones --folds --seeds --seed --select --stimulus-rows --relabel-start --alpha --beta "
         "--gamma --midlines --midline --val-fraction --grad-clip --eval-batch-size --val-subset --max-steps "
         "--compile --no-compile --device").split()


def test_every_flag_is_one_row_of_the_table_with_its_default():
    ap = train_cli.parser()
    options = {o for a in ap._actions for o in a.option_strings} - {"-h", "--help"}
    assert options == set(FLAGS)
    table = {s.option for s in config.SETTINGS if s.option}
    assert options == table | {"--out", "--resume", "--no-compile"}
    parsed = vars(ap.parse_args([]))
    for s in config.SETTINGS:
        if s.option:
            assert parsed[s.name] == s.default == config.DEFAULTS[s.name], s.name
        else:  # set by recognition.table2, not on the command line
            assert s.name not in parsed and s.name in ("save", "lean")
    assert set(config.DEFAULTS) == {s.name for s in config.SETTINGS}


def test_a_flag_given_on_the_command_line_lands_in_its_setting():
    a = vars(train_cli.parser().parse_args(["--separate-backbones", "--relabel-start", "20", "--no-compile",
                                            "--weight-decay", "0.01", "--half", "left"]))
    assert a["shared_backbone"] is False and a["relabel_start"] == 20 and a["compile"] is False
    assert a["weight_decay"] == 0.01 and a["half"] == "left"
    with pytest.raises(SystemExit):
        train_cli.parser().parse_args(["--relabel-start", "soon"])
    assert isinstance(config.relabel_start("auto"), str)
    with pytest.raises(argparse.ArgumentTypeError):
        config.relabel_start("x")


def test_runs_are_compared_on_the_settings_that_decide_their_numbers_and_resume_rules_come_from_the_table():
    # paths that may move (the data digest checks the data), the machine, the number of seeds and the outputs
    # are never compared: a finished cross-validation can take more seeds, a run can move to another machine
    assert set(config.DECIDING) == {
        "dataset", "arch", "variant", "half", "channels", "epochs", "batch_size", "lr", "momentum", "weight_decay",
        "schedule", "image_size", "half_mode", "rotation", "erase_p", "alpha", "beta", "gamma", "relabel_start",
        "grad_clip", "shared_backbone", "pretrained", "midline", "folds", "seed", "val_fraction", "select",
        "stimulus_rows", "max_steps", "val_subset"}
    resume = {s.name: s.resume for s in config.SETTINGS if s.option}
    assert {k for k, r in resume.items() if r == config.APPLIED} == {"device", "compile", "eval_batch_size", "data"}
    assert {k for k, r in resume.items() if r == config.GROWS} == {"epochs", "seeds"}
