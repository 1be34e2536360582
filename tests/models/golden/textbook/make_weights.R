# Golden values for prior weights (lmer(weights = )), on lme4's sleepstudy
# with weights 1 + Days %% 3 written as a column. Run from this folder:
#   Rscript make_weights.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
d <- read.csv("data/sleepstudy.csv")
d$w <- 1 + d$Days %% 3
write.csv(d, "data/sleepstudy_weighted.csv", row.names = FALSE)
m <- lmer(Reaction ~ Days + (Days | Subject), data = d, weights = w,
          control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10)))
s <- summary(m, ddf = "Satterthwaite")$coefficients
vc <- as.data.frame(VarCorr(m))
write_json(list(
  formula = "Reaction ~ Days + (Days | Subject)", weights = "w",
  data = "sleepstudy_weighted.csv", deviance = REMLcrit(m), sigma = sigma(m),
  varcorr = data.frame(var1 = vc$var1, var2 = vc$var2, sdcor = vc$sdcor),
  satterthwaite = data.frame(term = rownames(s), estimate = s[, "Estimate"],
                             std_error = s[, "Std. Error"], df = s[, "df"],
                             p_value = s[, "Pr(>|t|)"], row.names = NULL)),
  "weights/sleepstudy_weighted.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
