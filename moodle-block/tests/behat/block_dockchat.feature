@block @block_dockchat
Feature: The dock chat block lists the online course-mates
  In order to chat with the people of my courses
  As a student
  I need the dock chat block on my course page

  Background:
    Given the following "users" exist:
      | username | firstname | lastname | email                |
      | student1 | Ana       | Lima     | student1@example.com |
      | student2 | Bruno     | Costa    | student2@example.com |
    And the following "courses" exist:
      | fullname | shortname |
      | Course 1 | C1        |
    And the following "course enrolments" exist:
      | user     | course | role    |
      | student1 | C1     | student |
      | student2 | C1     | student |
    And the following "blocks" exist:
      | blockname | contextlevel | reference | pagetypepattern | defaultregion |
      | dockchat  | Course       | C1        | course-view-*   | side-pre      |

  Scenario: A student sees the block of online course-mates
    When I am on the "C1" "Course" page logged in as "student1"
    Then "Online course-mates" "block" should exist

  Scenario: The administrator sees the chat settings with the generated secret
    When I log in as "admin"
    And I navigate to "Plugins > Blocks > Dock chat" in site administration
    Then I should see "Chat service URL"
    And I should see "Token secret"
    And I should see "Regenerate the secret"
    And the field "Chat windows on every page" matches value "1"
