from __future__ import annotations

from flask_wtf.file import FileAllowed, FileRequired, MultipleFileField
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import Form


class ReleaseUploadForm(Form):
    label = StringField(
        "Release label",
        validators=[DataRequired(), Length(max=64)],
        description="How people will name this release, e.g. 2026.11. Labels are for ever.",
    )
    files = MultipleFileField(
        "Release files",
        validators=[
            FileRequired("Choose a .zip of the release, or its CSV files."),
            FileAllowed(
                ["zip", "csv", "svg", "png"],
                "Only a .zip archive, or .csv files with the .svg or .png drawings they name.",
            ),
        ],
        description="A .zip of the release, or parts.csv with models.csv, fitments.csv, "
        "supersessions.csv, diagrams.csv and hotspots.csv as needed (and the drawings "
        "diagrams.csv names).",
    )
    kind = RadioField(
        "What the release is",
        choices=[
            SelectChoice("snapshot", "A full snapshot: parts it leaves out are delisted"),
            SelectChoice("delta", "A delta: only the rows it names change"),
        ],
        validators=[DataRequired("Say whether the release is a full snapshot or a delta.")],
        # Posts from before deltas existed meant a snapshot; the drop check guards either way.
        default="snapshot",
    )
    # The upload page's "Check only" button.
    dry_run = BooleanField("Only check it: import nothing")
    #: How many delistings were confirmed: the box names the count the check found.
    allow_drops = IntegerField(validators=[Optional(), NumberRange(min=0)])


class FitmentReportForm(Form):
    part_number = HiddenField(validators=[DataRequired(), Length(max=40)])
    model_number = HiddenField(validators=[DataRequired(), Length(max=40)])
    ref_no = HiddenField(validators=[Optional(), Length(max=20)])
    note = TextAreaField(
        "What is wrong?",
        validators=[Optional(), Length(max=2000)],
        description="Optional: what you found (e.g. the connector differs, the part the unit "
        "really has).",
    )


class ResolveErratumForm(Form):
    resolution = StringField(
        "Resolution", validators=[DataRequired(), Length(max=2000)], description="What was done."
    )
