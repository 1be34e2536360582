# Golden values for trialanalysis.models.delta_adjust (run: Rscript make_delta_golden.R).
# mice imputes two data sets (one simulated two-arm trial written out here, and
# mice::nhanes); the completed data sets and the missingness masks are exported,
# and for each delta the imputed outcome values of the shifted rows get
# "+ delta" (the post-processing of van Buuren, FIMD 2nd ed., sec. 9.2), lm is
# fitted on every completed data set and mice::pool pools it. The Python test
# applies its own shift to the same completed data sets, so the comparison is exact.
suppressPackageStartupMessages(library(mice))
set.seed(20261201)
n <- 150
arm <- rep(0:1, each = n / 2)
baseline <- round(rnorm(n, 40, 12), 1)
y <- round(0.7 * baseline - 6 * arm + rnorm(n, 0, 9), 1)
p_miss <- plogis(-1.2 + 0.04 * (baseline - 40) + 0.4 * arm)
y[runif(n) < p_miss] <- NA
trial <- data.frame(arm = arm, baseline = baseline, y = y)
write.csv(trial, "delta_trial_data.csv", row.names = FALSE)

nh <- mice::nhanes
nh$older <- as.integer(nh$age >= 2)
nh <- nh[, c("older", "bmi", "chl")]
write.csv(nh, "delta_nhanes_data.csv", row.names = FALSE)

cases <- list(
  list(name = "trial", data = trial, formula = y ~ arm + baseline, term = "arm",
       shift = "y", group = "arm", m = 10, seed = 11),
  list(name = "nhanes", data = nh, formula = chl ~ older + bmi, term = "older",
       shift = "chl", group = "older", m = 5, seed = 7)
)
deltas <- c(-10, -2.5, 0, 4, 15)
golden <- list()
completed_rows <- list()
for (case in cases) {
  imp <- mice(case$data, m = case$m, method = "pmm", seed = case$seed, printFlag = FALSE)
  missing <- is.na(case$data[[case$shift]])
  for (j in seq_len(case$m)) {
    cd <- complete(imp, j)
    completed_rows[[length(completed_rows) + 1]] <- data.frame(
      case = case$name, imputation = j, row = seq_len(nrow(cd)) - 1, cd,
      imputed = missing, check.names = FALSE
    )
  }
  for (arms in c("intervention", "control", "both")) {
    for (delta in deltas) {
      fits <- lapply(seq_len(case$m), function(j) {
        cd <- complete(imp, j)
        shifted <- missing & switch(arms,
          intervention = cd[[case$group]] == 1,
          control = cd[[case$group]] == 0,
          both = rep(TRUE, nrow(cd)))
        cd[shifted, case$shift] <- cd[shifted, case$shift] + delta
        lm(case$formula, data = cd)
      })
      s <- summary(pool(as.mira(fits)), conf.int = TRUE)
      r <- s[s$term == case$term, ]
      golden[[length(golden) + 1]] <- data.frame(
        case = case$name, arms = arms, delta = delta, estimate = r$estimate,
        std_error = r$std.error, df = r$df, p_value = r$p.value,
        conf_low = r[["2.5 %"]], conf_high = r[["97.5 %"]]
      )
    }
  }
}
trial_rows <- do.call(rbind, completed_rows[sapply(completed_rows, function(d) d$case[1] == "trial")])
nh_rows <- do.call(rbind, completed_rows[sapply(completed_rows, function(d) d$case[1] == "nhanes")])
write.csv(trial_rows, "delta_trial_completed.csv", row.names = FALSE)
write.csv(nh_rows, "delta_nhanes_completed.csv", row.names = FALSE)
write.csv(do.call(rbind, golden), "delta_golden.csv", row.names = FALSE)
