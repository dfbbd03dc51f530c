"""Quality inspection: QA review cases (score, reviewer, review notes) shown as tickets."""
