# Golden values for tests/analyses/test_betterback_inference.py: the BetterBack
# inference sensitivity set (primary outcomes at 3 months of the example data,
# exported by make_betterback_inference_data.py) fitted by lme4 + lmerTest
# (Satterthwaite, Kenward-Roger via pbkrtest), and the cluster-level t on
# K - p_c df computed from lme4's unadjusted vcov; plus the same random
# structures on lme4's grouseticks (location / brood, year as period) as a
# second, independent data set.
# Usage (from this folder): Rscript betterback_inference_golden.R
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest); library(emmeans)})
d <- read.csv("betterback_inference_data.csv", stringsAsFactors = FALSE)
d$period <- factor(d$period)
out <- list()
add <- function(data, outcome, analysis, ddf, est, se, df, p, n) {
  out[[length(out) + 1]] <<- data.frame(data = data, outcome = outcome, analysis = analysis,
    df_method = ddf, estimate = est, std_error = se, df = df, p_value = p, n_obs = n)
}
random <- c(primary = "(1 | clinic_id)",
            clinic_period = "(1 | clinic_id) + (1 | clinic_id:period)",
            allocation_unit = "(1 | cluster_id/clinic_id)",
            therapist = "(1 | clinic_id) + (1 | clinic_id:therapist_id)",
            both_conditions = "(1 | clinic_id)")
for (y in c("nrs_back", "nrs_leg", "odi_total")) {
  for (a in names(random)) {
    f <- as.formula(sprintf("%s_change ~ period + treatment + %s_baseline + %s", y, y, random[[a]]))
    data <- if (a == "both_conditions") droplevels(d[d$period %in% c("2", "3"), ]) else d
    data <- data[complete.cases(data[, c(paste0(y, "_change"), paste0(y, "_baseline"))]), ]
    fit <- lmer(f, data = data, REML = TRUE)
    for (ddf in c("Kenward-Roger", "Satterthwaite")) {
      s <- coef(summary(fit, ddf = ddf))["treatment", ]
      add("example", y, a, tolower(ddf), s[["Estimate"]], s[["Std. Error"]], s[["df"]],
          s[["Pr(>|t|)"]], nrow(data))
    }
    if (a == "primary") {
      # adjusted means per period and condition (the secular trend), Kenward-Roger
      em <- as.data.frame(summary(emmeans(fit, ~ period * treatment,
                                          at = list(treatment = c(0, 1)),
                                          lmer.df = "kenward-roger")))
      for (i in seq_len(nrow(em))) {
        add("example", y, sprintf("emm:%s:%d", em$period[i], em$treatment[i]), "kenward-roger",
            em$emmean[i], em$SE[i], em$df[i], NA, nrow(data))
      }
      # cluster-level df: K clinics minus the columns constant within clinic-periods
      X <- getME(fit, "X")
      cell <- interaction(data$clinic_id, data$period, drop = TRUE)
      pc <- sum(apply(X, 2, function(x) all(tapply(x, cell, function(v) length(unique(v))) == 1)))
      k <- length(unique(data$clinic_id))
      est <- fixef(fit)[["treatment"]]; se <- sqrt(vcov(fit)["treatment", "treatment"])
      add("example", y, "cluster_df", "cluster-level", est, se, k - pc,
          2 * pt(-abs(est / se), k - pc), nrow(data))
    }
  }
}
# grouseticks: location ~ allocation unit, brood ~ clinic, year ~ period
g <- lme4::grouseticks
g$y <- log(g$TICKS + 1)
g$height <- as.numeric(scale(g$HEIGHT, scale = FALSE))
g$year <- g$YEAR
g$location <- g$LOCATION
g$brood <- g$BROOD
write.csv(g[, c("INDEX", "y", "height", "year", "location", "brood")],
          "grouseticks.csv", row.names = FALSE)
gr <- c(clinic_period = "(1 | location) + (1 | location:year)",
        allocation_unit = "(1 | location/brood)")
for (a in names(gr)) {
  fit <- lmer(as.formula(paste("y ~ year + height +", gr[[a]])), data = g, REML = TRUE)
  for (ddf in c("Kenward-Roger", "Satterthwaite")) {
    s <- coef(summary(fit, ddf = ddf))["height", ]
    add("grouseticks", "y", a, tolower(ddf), s[["Estimate"]], s[["Std. Error"]], s[["df"]],
        s[["Pr(>|t|)"]], nrow(g))
  }
  vc <- as.data.frame(VarCorr(fit))
  for (i in seq_len(nrow(vc))) {
    add("grouseticks", "y", a, paste0("variance:", vc$grp[i]), vc$vcov[i], NA, NA, NA, nrow(g))
  }
}
golden <- do.call(rbind, out)
write.csv(golden, "betterback_inference_golden.csv", row.names = FALSE, na = "")
writeLines(c(R.version.string, paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest")),
             paste("pbkrtest", packageVersion("pbkrtest"))), "betterback_inference_versions.txt")
