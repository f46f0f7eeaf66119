# Student (1908): the effect of two soporifics on sleep, the first published use of the t test.
# Ten patients each took both drugs (Cushny and Peebles, 1905); `extra` is the hours of sleep
# gained over a control night. Computes the paired differences (drug 2 minus drug 1), their
# mean and standard deviation as Student did (divisor n), and the paired t test.
suppressPackageStartupMessages(library(jsonlite))

trial <- read.csv("data/sleep.csv")
trial <- trial[order(trial$ID, trial$group), ]
drug1 <- trial$extra[trial$group == 1]
drug2 <- trial$extra[trial$group == 2]
difference <- drug2 - drug1
n <- length(difference)

test <- t.test(drug2, drug1, paired = TRUE)
dir.create("results", showWarnings = FALSE)
summary <- list(
  n_patients = n,
  mean_difference_hours = round(mean(difference), 2),
  sd_difference_student = round(sqrt(sum((difference - mean(difference))^2) / n), 2),
  t_statistic = round(unname(test$statistic), 3),
  degrees_of_freedom = unname(test$parameter),
  p_value = signif(test$p.value, 3)
)
write_json(summary, "results/summary.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
write.csv(data.frame(ID = trial$ID[trial$group == 1], drug1 = drug1, drug2 = drug2, difference = difference),
          "results/differences.csv", row.names = FALSE)
print(test)
