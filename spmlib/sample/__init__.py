"""The bundled sample CRM: a deterministic generator of reps, deals, stage history, activities,
quotas and leads with a ground truth, and the sample as the default dataset. Imports core and
io."""
