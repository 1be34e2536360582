# Golden values for trialanalysis.models.residuals (run: Rscript make_golden.R).
# lme4: conditional fitted values, residuals, Pearson residuals and BLUPs of
# a random-slope model on ../data/slopes.csv and of a random-intercept model on
# lme4::sleepstudy (written to sleepstudy.csv). nlme::gls with corSymm +
# varIdent (unstructured) on ../mmrm/data/orthodont_missing.csv: fitted values,
# raw and normalized residuals (type = "normalized": the within-subject
# Cholesky-whitened residuals).
suppressPackageStartupMessages({library(lme4); library(nlme)})
out <- function(fit_fitted, fit_resid, std, file) {
  write.csv(data.frame(row = seq_along(fit_fitted) - 1, fitted = fit_fitted,
                       residual = fit_resid, standardized = std), file, row.names = FALSE)
}
slopes <- read.csv("../data/slopes.csv")
m1 <- lmer(y ~ time * arm + (1 + time | patient_id), data = slopes, REML = TRUE)
out(fitted(m1), residuals(m1), residuals(m1) / sigma(m1),
    "slopes_residuals.csv")
re <- ranef(m1)$patient_id
write.csv(data.frame(level = rownames(re), intercept = re[, 1], time = re[, 2]),
          "slopes_ranef.csv", row.names = FALSE)

sleep <- as.data.frame(lme4::sleepstudy)
sleep$Subject <- paste0("s", as.character(sleep$Subject))
write.csv(sleep, "sleepstudy.csv", row.names = FALSE)
m2 <- lmer(Reaction ~ Days + (1 | Subject), data = sleep, REML = TRUE)
out(fitted(m2), residuals(m2), residuals(m2) / sigma(m2), "sleepstudy_residuals.csv")
re2 <- ranef(m2)$Subject
write.csv(data.frame(level = rownames(re2), intercept = re2[, 1]), "sleepstudy_ranef.csv",
          row.names = FALSE)

orth <- read.csv("../mmrm/data/orthodont_missing.csv")
orth$visit <- factor(orth$visit)
orth$vnum <- as.integer(orth$visit)
g <- gls(y ~ sex * visit, data = orth, correlation = corSymm(form = ~ vnum | id),
         weights = varIdent(form = ~ 1 | visit), method = "REML")
# gls reorders nothing here (rows sorted by id, visit in the file)
out(as.numeric(fitted(g)), as.numeric(residuals(g)),
    as.numeric(residuals(g, type = "normalized")), "orthodont_us_residuals.csv")
