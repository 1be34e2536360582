# Golden values for the PREPARE MMRM (unstructured covariance) in
# tests/analyses/test_prepare_models.py: the ANCOVA-type and cLDA models of
# prepare_lmm_data.csv fitted by nlme::gls with corSymm + varIdent (= us),
# REML; between-arm differences per follow-up (emmeans for the ANCOVA-type
# model, the treatment_<t> coefficients for cLDA) with their SEs, and the
# REML criterion.
# Usage (from this folder): Rscript prepare_mmrm_golden.R
suppressPackageStartupMessages({ library(nlme); library(emmeans) })
d <- read.csv("prepare_lmm_data.csv", stringsAsFactors = FALSE)
d$treatment <- as.integer(d$arm == "treated")
d$sex <- factor(d$sex)
control <- glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-12, msTol = 1e-12,
                      opt = "optim")
out <- list()
add <- function(design, timepoint, est, se, deviance) {
  out[[length(out) + 1]] <<- data.frame(design = design, timepoint = timepoint, estimate = est,
                                        std_error = se, deviance = deviance)
}
base <- d[d$timepoint == "baseline", c("patient_id", "y")]
names(base)[2] <- "y_baseline"
a <- merge(d[d$timepoint != "baseline", ], base, by = "patient_id")
a$timepoint <- factor(a$timepoint, levels = c("post", "3m", "12m"))
a$vnum <- as.integer(a$timepoint)
a <- a[order(a$patient_id, a$vnum), ]
fa <- do.call(gls, list(model = y ~ timepoint * treatment + y_baseline * timepoint + sex, data = a,
  correlation = corSymm(form = ~ vnum | patient_id), weights = varIdent(form = ~ 1 | timepoint),
  method = "REML", control = control, na.action = na.omit))
em <- emmeans(fa, ~ treatment | timepoint, at = list(treatment = c(0, 1)), mode = "df.error")
ct <- as.data.frame(summary(contrast(em, "revpairwise")))
add("covariate", as.character(ct$timepoint), ct$estimate, ct$SE, -2 * as.numeric(logLik(fa)))
d$timepoint <- factor(d$timepoint, levels = c("baseline", "post", "3m", "12m"))
d$vnum <- as.integer(d$timepoint)
d <- d[order(d$patient_id, d$vnum), ]
for (t in c("post", "3m", "12m")) d[[paste0("treatment_", t)]] <- d$treatment * (d$timepoint == t)
fc <- do.call(gls, list(model = y ~ timepoint + treatment_post + treatment_3m + treatment_12m + sex,
  data = d, correlation = corSymm(form = ~ vnum | patient_id),
  weights = varIdent(form = ~ 1 | timepoint), method = "REML", control = control,
  na.action = na.omit))
for (t in c("post", "3m", "12m")) {
  term <- paste0("treatment_", t)
  add("response", t, coef(fc)[[term]], sqrt(vcov(fc)[term, term]), -2 * as.numeric(logLik(fc)))
}
write.csv(do.call(rbind, out), "prepare_mmrm_golden.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("nlme", packageVersion("nlme")),
             paste("emmeans", packageVersion("emmeans"))), "prepare_mmrm_versions.txt")
