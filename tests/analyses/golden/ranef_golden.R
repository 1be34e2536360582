# Golden values for MixedModelResult.random_effects(): conditional modes and
# conditional SDs of the random effects, as lme4::ranef(condVar = TRUE).
#
# Reuses the seeded data sets of tests/models/golden/data (written by
# tests/models/golden/make_golden.R). Run from this folder:
#   Rscript ranef_golden.R
# Writes ranef_golden.csv (model, group, level, term, estimate, cond_sd).

suppressPackageStartupMessages(library(lme4))

data_dir <- file.path("..", "..", "models", "golden", "data")
models <- list(
  nested = list(data = "nested.csv",
                formula = "y ~ arm * timepoint + age + (1 | clinic_id) + (1 | clinic_id:therapist_id) + (1 | patient_id)"),
  slopes = list(data = "slopes.csv", formula = "y ~ time * arm + (1 + time | patient_id)"),
  # the clinic:patient variance is estimated at zero (singular fit)
  boundary = list(data = "boundary.csv",
                  formula = "y ~ treatment + x + (1 | clinic_id) + (1 | clinic_id:patient_id)")
)

rows <- list()
for (name in names(models)) {
  spec <- models[[name]]
  d <- read.csv(file.path(data_dir, spec$data), stringsAsFactors = FALSE)
  fit <- lmer(as.formula(spec$formula), data = d, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa"))
  re <- ranef(fit, condVar = TRUE)
  for (group in names(re)) {
    values <- re[[group]]
    post <- attr(values, "postVar")
    for (j in seq_along(values)) {
      rows[[length(rows) + 1]] <- data.frame(
        model = name, group = group, level = rownames(values), term = names(values)[j],
        estimate = values[[j]], cond_sd = sqrt(post[j, j, ]),
        stringsAsFactors = FALSE)
    }
  }
}
out <- do.call(rbind, rows)
write.csv(out, "ranef_golden.csv", row.names = FALSE)
cat("lme4", as.character(packageVersion("lme4")), "\n")
