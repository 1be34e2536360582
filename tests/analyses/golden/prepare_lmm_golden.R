# Golden values for tests/analyses/test_prepare_models.py: the PREPARE
# repeated-measures models (ANCOVA-type and cLDA) fitted by lme4/lmerTest,
# EMMs and between-arm differences by emmeans / lmerTest::contest.
# Usage (from this folder): Rscript prepare_lmm_golden.R
suppressPackageStartupMessages({
  library(lme4); library(lmerTest); library(pbkrtest); library(emmeans)
})
d <- read.csv("prepare_lmm_data.csv", stringsAsFactors = FALSE)
d$treatment <- as.integer(d$arm == "treated")
d$sex <- factor(d$sex)
out <- list()
add <- function(design, ddf, kind, arm, timepoint, est, se, df) {
  out[[length(out) + 1]] <<- data.frame(design = design, df_method = ddf, kind = kind,
    arm = arm, timepoint = timepoint, estimate = est, std_error = se, df = df)
}
# ANCOVA-type: follow-ups as response, baseline as covariate with a slope per time point
base <- d[d$timepoint == "baseline", c("patient_id", "y")]
names(base)[2] <- "y_baseline"
a <- merge(d[d$timepoint != "baseline", ], base, by = "patient_id")
a$timepoint <- factor(a$timepoint, levels = c("post", "3m", "12m"))
fa <- lmer(y ~ timepoint * treatment + y_baseline * timepoint + sex + (1 | patient_id),
           data = a, REML = TRUE)
for (ddf in c("kenward-roger", "satterthwaite")) {
  em <- emmeans(fa, ~ treatment | timepoint, at = list(treatment = c(0, 1)), lmer.df = ddf)
  s <- as.data.frame(summary(em))
  add("covariate", ddf, "mean", ifelse(s$treatment == 1, "treated", "control"),
      as.character(s$timepoint), s$emmean, s$SE, s$df)
  ct <- as.data.frame(summary(contrast(em, "revpairwise")))
  add("covariate", ddf, "difference", "treated - control", as.character(ct$timepoint),
      ct$estimate, ct$SE, ct$df)
}
# cLDA: every time point as response, common baseline mean
d$timepoint <- factor(d$timepoint, levels = c("baseline", "post", "3m", "12m"))
for (t in c("post", "3m", "12m")) d[[paste0("treatment_", t)]] <- d$treatment * (d$timepoint == t)
fc <- lmer(y ~ timepoint + treatment_post + treatment_3m + treatment_12m + sex + (1 | patient_id),
           data = d, REML = TRUE)
beta <- names(fixef(fc))
weights <- function(terms) { L <- setNames(rep(0, length(beta)), beta); L[terms] <- 1;
  L["sexmale"] <- 0.5; L }
cells <- list(
  list("control", "baseline", c("(Intercept)")),
  list("control", "post", c("(Intercept)", "timepointpost")),
  list("treated", "post", c("(Intercept)", "timepointpost", "treatment_post")),
  list("treated", "12m", c("(Intercept)", "timepoint12m", "treatment_12m"))
)
for (ddf in c("Kenward-Roger", "Satterthwaite")) {
  name <- tolower(ddf)
  for (cell in cells) {
    r <- contest(fc, weights(cell[[3]]), ddf = ddf, joint = FALSE)
    add("response", name, "mean", cell[[1]], cell[[2]], r$Estimate, r[["Std. Error"]], r$df)
  }
  for (t in c("post", "3m", "12m")) {
    L <- setNames(rep(0, length(beta)), beta); L[paste0("treatment_", t)] <- 1
    r <- contest(fc, L, ddf = ddf, joint = FALSE)
    add("response", name, "difference", "treated - control", t, r$Estimate,
        r[["Std. Error"]], r$df)
  }
}
golden <- do.call(rbind, out)
write.csv(golden, "prepare_lmm_golden.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest")),
             paste("pbkrtest", packageVersion("pbkrtest")),
             paste("emmeans", packageVersion("emmeans"))), "prepare_lmm_versions.txt")
